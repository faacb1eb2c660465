import NIOCore

/// A Socket.IO argument: any JSON value, plus binary (sent as an attachment).
///
/// Numbers are JavaScript numbers (`Double`). Objects keep their keys in insertion order
/// (see ``JSONObject``), so a payload is re-emitted in the order it arrived.
public enum JSONValue: Hashable, Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number; JSON numbers are IEEE 754 doubles, as in JavaScript.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, in insertion order.
    case object(JSONObject)
    /// Binary data; Socket.IO sends it as an attachment referenced by a placeholder.
    case binary(ByteBuffer)
}

extension JSONValue: ExpressibleByNilLiteral {
    /// Creates `.null`.
    @inlinable
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    /// Creates `.bool`.
    @inlinable
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    /// Creates `.number`.
    @inlinable
    public init(integerLiteral value: Int) {
        self = .number(Double(value))
    }
}

extension JSONValue: ExpressibleByFloatLiteral {
    /// Creates `.number`.
    @inlinable
    public init(floatLiteral value: Double) {
        self = .number(value)
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// Creates `.string`.
    @inlinable
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension JSONValue: ExpressibleByArrayLiteral {
    /// Creates `.array`.
    @inlinable
    public init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Creates `.object` with the keys in literal order; a repeated key keeps its first position
    /// and its last value.
    @inlinable
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}

extension JSONValue {
    /// The string, if this is `.string`.
    @inlinable
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number, if this is `.number`.
    @inlinable
    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The number as an `Int`, if this is an integral `.number` that fits.
    @inlinable
    public var intValue: Int? {
        if case .number(let value) = self { return Int(exactly: value) }
        return nil
    }

    /// The boolean, if this is `.bool`.
    @inlinable
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is `.array`.
    @inlinable
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object, if this is `.object`.
    @inlinable
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The bytes, if this is `.binary`.
    @inlinable
    public var binaryValue: ByteBuffer? {
        if case .binary(let value) = self { return value }
        return nil
    }

    /// Whether this is `.null`.
    @inlinable
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member named `key`, if this is an object that has it.
    @inlinable
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index`, if this is an array and `index` is in range.
    @inlinable
    public subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    /// Whether this value is, or contains at any depth, a `.binary`.
    public var containsBinary: Bool {
        switch self {
        case .binary:
            return true
        case .array(let elements):
            return elements.contains { $0.containsBinary }
        case .object(let object):
            return object.contains { $0.value.containsBinary }
        case .null, .bool, .number, .string:
            return false
        }
    }

    /// The number of `.binary` values in this value, depth first.
    var binaryCount: Int {
        switch self {
        case .binary:
            return 1
        case .array(let elements):
            var count = 0
            for element in elements { count += element.binaryCount }
            return count
        case .object(let object):
            var count = 0
            for (_, value) in object { count += value.binaryCount }
            return count
        case .null, .bool, .number, .string:
            return 0
        }
    }
}

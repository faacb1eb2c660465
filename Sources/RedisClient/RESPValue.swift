import NIOCore

/// A RESP2 value, as Redis sends and receives it.
///
/// Commands go to Redis as an array of bulk strings; replies may be any case. RESP3 types are not
/// supported (the client never sends `HELLO 3`).
public enum RESPValue: Hashable, Sendable {
    /// `+OK\r\n`
    case simpleString(String)
    /// `-ERR message\r\n`: an error reply (the connection returns it as ``RedisServerError``).
    case error(String)
    /// `:42\r\n`
    case integer(Int64)
    /// `$3\r\nfoo\r\n`; `nil` is the null bulk string `$-1\r\n`.
    case bulkString(ByteBuffer?)
    /// `*2\r\n…`; `nil` is the null array `*-1\r\n`.
    case array([RESPValue]?)

    /// A bulk string holding `string`'s UTF-8 bytes.
    public static func bulk(_ string: String) -> RESPValue {
        .bulkString(ByteBuffer(string: string))
    }

    /// The text of a simple or bulk string (or an integer's decimal text); `nil` otherwise.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let buffer?): String(buffer: buffer)
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The bytes of a bulk string; `nil` otherwise.
    public var buffer: ByteBuffer? {
        if case .bulkString(let buffer?) = self { return buffer }
        return nil
    }

    /// The value of an integer, or of a string holding one.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString: self.string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of a non-null array.
    public var array: [RESPValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    /// Whether this is the null bulk string or the null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }
}

extension RESPValue: ExpressibleByStringLiteral {
    /// A bulk string.
    public init(stringLiteral value: String) {
        self = .bulk(value)
    }
}

extension RESPValue: ExpressibleByIntegerLiteral {
    /// A bulk string of the decimal text (commands take their numbers as strings).
    public init(integerLiteral value: Int) {
        self = .bulk(String(value))
    }
}

extension RESPValue: CustomStringConvertible {
    /// A readable form for logs and test failures.
    public var description: String {
        switch self {
        case .simpleString(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulkString(nil): "(nil)"
        case .bulkString(let buffer?): "\"\(String(buffer: buffer))\""
        case .array(nil): "(nil array)"
        case .array(let elements?): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

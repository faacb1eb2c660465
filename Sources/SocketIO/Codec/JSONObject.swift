/// Insertion-ordered JSON object (so a payload is re-emitted in the order it came). Equality and hashing ignore order.
///
/// Lookups are linear for small objects; past a few members a key index is kept, so building
/// or parsing a large object stays linear.
public struct JSONObject: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// One member.
    public typealias Element = (key: String, value: JSONValue)
    /// Iterates the members in insertion order.
    public typealias Iterator = IndexingIterator<[Element]>

    /// Objects larger than this keep a key → position index.
    @usableFromInline
    static let indexThreshold = 12

    @usableFromInline
    var entries: [Element]
    @usableFromInline
    var index: [String: Int]?

    /// Creates an empty object.
    @inlinable
    public init() {
        self.entries = []
        self.index = nil
    }

    /// Creates an object from members in order; a repeated key keeps its first position and its
    /// last value (as `JSON.parse` does).
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        self.entries.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            self.set(key, value)
        }
    }

    /// Creates an object from a literal, in literal order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// The number of members.
    @inlinable
    public var count: Int { self.entries.count }

    /// Whether the object has no members.
    @inlinable
    public var isEmpty: Bool { self.entries.isEmpty }

    /// The keys, in insertion order.
    public var keys: [String] { self.entries.map(\.key) }

    /// The values, in insertion order.
    public var values: [JSONValue] { self.entries.map(\.value) }

    /// The value for `key`. Setting `nil` removes the member; setting an existing key keeps its position.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = self.position(of: key) else { return nil }
            return self.entries[position].value
        }
        set {
            if let newValue {
                self.set(key, newValue)
            } else {
                self.remove(key)
            }
        }
    }

    /// Iterates the members in insertion order.
    @inlinable
    public func makeIterator() -> Iterator {
        self.entries.makeIterator()
    }

    /// Sets a member, appending it if the key is new.
    @usableFromInline
    mutating func set(_ key: String, _ value: JSONValue) {
        if let position = self.position(of: key) {
            self.entries[position].value = value
            return
        }
        self.entries.append((key: key, value: value))
        if self.index != nil {
            self.index![key] = self.entries.count - 1
        } else if self.entries.count > Self.indexThreshold {
            self.rebuildIndex()
        }
    }

    /// Removes a member; later members keep their order.
    @discardableResult
    mutating func remove(_ key: String) -> JSONValue? {
        guard let position = self.position(of: key) else { return nil }
        let removed = self.entries.remove(at: position).value
        if self.index != nil {
            if self.entries.count > Self.indexThreshold {
                self.rebuildIndex()
            } else {
                self.index = nil
            }
        }
        return removed
    }

    @usableFromInline
    func position(of key: String) -> Int? {
        if let index = self.index {
            return index[key]
        }
        return self.entries.firstIndex { $0.key == key }
    }

    private mutating func rebuildIndex() {
        var index = [String: Int](minimumCapacity: self.entries.count * 2)
        for (position, entry) in self.entries.enumerated() {
            index[entry.key] = position
        }
        self.index = index
    }

    /// Equal when both have the same members, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs.entries {
            guard let other = rhs[key], other == value else { return false }
        }
        return true
    }

    /// Hashes the members independently of their order.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.count)
        var combined = 0
        for (key, value) in self.entries {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            combined = combined &+ member.finalize()
        }
        hasher.combine(combined)
    }
}

extension JSONObject: CustomStringConvertible {
    /// The object as JSON text.
    public var description: String {
        JSONValue.object(self).jsonString
    }
}

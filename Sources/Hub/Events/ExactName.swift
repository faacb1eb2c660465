/// A name a client controls (an event type, a room, a grant), compared and hashed as its exact
/// sequence of Unicode scalars (its UTF-8 bytes).
///
/// Swift's `String ==` and `Set<String>` use canonical equivalence: `"\u{212A}elvin"` (KELVIN
/// SIGN) equals `"Kelvin"`, and an NFD spelling equals its NFC one. Two names a client can tell
/// apart must never be one name to the hub, so rules and grants keep their names as `ExactName`.
///
/// ```swift
/// let allowed: Set<ExactName> = ["chat_message"]
/// allowed.contains(ExactName("chat_message"))      // true
/// ExactName("\u{212A}elvin") == ExactName("Kelvin") // false
/// ```
public struct ExactName: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The name.
    public let value: String

    /// Wraps `value`.
    public init(_ value: String) {
        self.value = value
    }

    public init(stringLiteral value: String) {
        self.value = value
    }

    public static func == (lhs: ExactName, rhs: ExactName) -> Bool {
        lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        let hashed: Void? = self.value.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in self.value.utf8 { hasher.combine(byte) }
        }
        hasher.combine(self.value.utf8.count)
    }

    public var description: String { self.value }
}

import Foundation

/// Who a valid token says its holder is.
public struct Principal: Sendable, Hashable {
    /// The user or service id (the JWT `sub`).
    public var subject: String
    /// The roles granted.
    public var roles: Set<Role>
    /// The rooms the holder may join, compared exactly (as UTF-8 bytes, not by Unicode canonical
    /// equivalence: a grant for `"\u{212A}elvin"` does not open `"Kelvin"`); `nil` or a set
    /// containing `"*"` means any room.
    public var rooms: Set<ExactName>?
    /// When the token stops being valid (its `exp`, plus the configured leeway); `nil` for tokens
    /// that do not expire (static tokens, JWTs without `exp`). Live connections are closed then.
    public var expiresAt: Date?

    /// Creates a principal.
    public init(subject: String, roles: Set<Role>, rooms: Set<ExactName>? = nil, expiresAt: Date? = nil) {
        self.subject = subject
        self.roles = roles
        self.rooms = rooms
        self.expiresAt = expiresAt
    }

    /// Whether the holder has at least one of `roles`.
    public func hasAny(of roles: Set<Role>) -> Bool {
        !self.roles.isDisjoint(with: roles)
    }

    /// Whether the `rooms` grant lets the holder into `room`: `room`'s exact sequence of Unicode
    /// scalars is granted (or `"*"` is).
    public func mayJoin(room: String) -> Bool {
        guard let rooms = self.rooms else { return true }
        return rooms.contains(Self.anyRoom) || rooms.contains(ExactName(room))
    }

    /// The grant for every room.
    static let anyRoom: ExactName = "*"
}

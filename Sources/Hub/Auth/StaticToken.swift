/// A fixed token from the configuration file, for setups without JWT.
///
/// Encoded as `{"token": "…", "user": "…", "roles": ["…"], "rooms": ["…"]}`; `rooms` may be
/// omitted (any room).
public struct StaticToken: Sendable, Hashable, Codable {
    /// The secret the client presents.
    public var token: String
    /// The subject of the resulting ``Principal``.
    public var user: String
    /// The roles granted.
    public var roles: [Role]
    /// The rooms the holder may join; `nil` or a list containing `"*"` means any room.
    public var rooms: [String]?

    /// Creates a static token.
    public init(token: String, user: String, roles: [Role], rooms: [String]? = nil) {
        self.token = token
        self.user = user
        self.roles = roles
        self.rooms = rooms
    }

    /// The principal this token stands for.
    var principal: Principal {
        Principal(subject: self.user, roles: Set(self.roles), rooms: self.rooms.map { Set($0.map { ExactName($0) }) })
    }
}

extension StaticToken: CustomStringConvertible {
    /// A description that leaves the secret out, so a token never ends up in a log by accident.
    public var description: String {
        "StaticToken(user: \(self.user), roles: \(self.roles.map(\.rawValue)), rooms: \(self.rooms.map { "\($0)" } ?? "any"))"
    }
}

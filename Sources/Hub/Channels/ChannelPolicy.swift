/// Who may use which channel: the roles each namespace admits, the rooms of `/` gated like the
/// namespaces of the same name, and which events a socket may publish.
public enum ChannelPolicy {
    /// Roles admitted to each namespace. `/chat` takes role user and up (services too, so agents can
    /// answer); `/monitoring` monitors, admins and services (agents publish there); `/admin` admins.
    public static let namespaceRoles: [String: Set<Role>] = [
        "/": Set(Role.allCases),
        "/chat": [.user, .monitor, .admin, .service],
        "/monitoring": [.monitor, .admin, .service],
        "/admin": [.admin],
    ]

    /// The hub's namespaces.
    public static var namespaces: [String] { ["/", "/chat", "/monitoring", "/admin"] }

    /// Rooms of `/` gated by the roles of the namespace with the same name, so a frontend written for
    /// a Flask-SocketIO hub that joins rooms in the default namespace works unchanged.
    public static let gatedRoomsInMainNamespace: [String: Set<Role>] = [
        "chat": namespaceRoles["/chat"]!,
        "monitoring": namespaceRoles["/monitoring"]!,
        "admin": namespaceRoles["/admin"]!,
    ]

    /// The largest room name accepted, in Unicode code points (what the OpenAPI schema's
    /// `maxLength` counts, so the spec and every entry point agree).
    public static let maxRoomNameLength = 128

    /// The one room-name rule, for sockets, the HTTP API and /stream: 1 to
    /// ``maxRoomNameLength`` code points.
    public static func isValidRoomName(_ room: String) -> Bool {
        !room.isEmpty && room.unicodeScalars.count <= maxRoomNameLength
    }

    /// Whether `principal` may connect to `namespace`.
    public static func mayConnect(_ principal: Principal, to namespace: String) -> Bool {
        guard let roles = namespaceRoles[namespace] else { return false }
        return principal.hasAny(of: roles)
    }

    /// The roles `room` of `/` is gated by, matching its name exactly (UTF-8 bytes).
    static func gatedRoles(forExactRoom room: String) -> Set<Role>? {
        let name = ExactName(room)
        return gatedRoomsInMainNamespace.first { ExactName($0.key) == name }?.value
    }

    /// Why `principal` may not join `room` in `namespace`, or `nil` if it may. The room grant is
    /// checked exactly (``Principal/mayJoin(room:)``).
    public static func refusalToJoin(_ principal: Principal, room: String, in namespace: String) -> String? {
        if !isValidRoomName(room) {
            return "invalid room name"
        }
        // Looked up exactly, as the grant below: a room is gated only if it is byte for byte a
        // gated name.
        if namespace == "/", let roles = gatedRoles(forExactRoom: room), !principal.hasAny(of: roles) {
            return "role required for room \(room)"
        }
        if !principal.mayJoin(room: room) {
            return "room not granted"
        }
        return nil
    }
}

import SocketIO

/// One event of a `POST /api/broadcast` body:
/// `{"namespace": "/monitoring", "room": "ops" | "rooms": ["…"], "event": "alert_created", "data": {…}}`.
///
/// `namespace` defaults to `/` and must be one of the hub's namespaces; `room` and `rooms` may be
/// combined (duplicates are dropped); with neither, the event goes to the whole namespace. Other
/// members, and `null` for an optional one, are refused, so that the OpenAPI schema
/// (`additionalProperties: false`) and the server agree.
struct BroadcastRequest: Sendable, Hashable {
    /// The namespace.
    var namespace: String
    /// The target rooms; empty for the whole namespace.
    var rooms: [String]
    /// The event name.
    var event: String
    /// The payload, passed through untouched.
    var data: JSONValue

    /// Reads and validates one event description; `position` names it in messages (`"events[2]"`).
    ///
    /// Checks, in order: an object; no unknown members; `event` a publishable name
    /// (``EventRules/unpublishableReason(_:)``: 1–128 characters, no control characters, not
    /// reserved by Socket.IO, not a presence event); `data` an
    /// object; `namespace` a known namespace; `room` a string and `rooms` an array of strings, each
    /// a valid room name. Room grants are checked by the caller.
    init(_ value: JSONValue, namespaces: Set<String>, position: String? = nil) throws(APIError) {
        let prefix = position.map { "\($0)." } ?? ""
        guard let object = value.objectValue else {
            throw .badRequest("\(position ?? "body") must be a JSON object")
        }
        if let unknown = object.keys.first(where: { !Self.members.contains($0) }) {
            throw .badRequest("\(position.map { "\($0): " } ?? "")unknown member \"\(unknown)\" (expected namespace, room, rooms, event, data)")
        }
        guard let event = object["event"]?.stringValue else {
            throw .badRequest("\(prefix)event must be a string (the event name)")
        }
        if let reason = EventRules.unpublishableReason(event) {
            throw .badRequest("\(prefix)event: \(reason)")
        }
        guard let data = object["data"], data.objectValue != nil else {
            throw .badRequest("\(prefix)data must be a JSON object")
        }

        var namespace = "/"
        if let value = object["namespace"] {
            guard let name = value.stringValue else {
                throw .badRequest("\(prefix)namespace must be a string")
            }
            guard namespaces.contains(name) else {
                throw .badRequest("\(prefix)namespace: unknown namespace \"\(name)\"")
            }
            namespace = name
        }

        var rooms: [String] = []
        if let value = object["room"] {
            guard let room = value.stringValue else {
                throw .badRequest("\(prefix)room must be a string")
            }
            rooms.append(room)
        }
        if let value = object["rooms"] {
            guard let list = value.arrayValue else {
                throw .badRequest("\(prefix)rooms must be an array of strings")
            }
            for element in list {
                guard let room = element.stringValue else {
                    throw .badRequest("\(prefix)rooms must be an array of strings")
                }
                rooms.append(room)
            }
        }
        for room in rooms where !ChannelPolicy.isValidRoomName(room) {
            throw .badRequest("\(prefix)\(Self.roomNameRule)")
        }
        var seen = Set<String>()
        self.rooms = rooms.filter { seen.insert($0).inserted }
        self.namespace = namespace
        self.event = event
        self.data = data
    }

    /// The message for a room name ``ChannelPolicy/isValidRoomName(_:)`` refuses.
    static let roomNameRule = "room names must be 1 to \(ChannelPolicy.maxRoomNameLength) characters long"

    /// The members an event description may have.
    static let members: Set<String> = ["namespace", "room", "rooms", "event", "data"]

    /// Whether `principal` may publish this event: its room grant must include every target room,
    /// and a namespace-wide publish needs an unrestricted grant.
    func isGranted(to principal: Principal) -> Bool {
        if self.rooms.isEmpty {
            return principal.mayJoin(room: "*")
        }
        return self.rooms.allSatisfy { principal.mayJoin(room: $0) }
    }
}

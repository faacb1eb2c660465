/// Which events exist, who may publish them, and which are kept in history: the hub's open event
/// space. Event names are data — any valid name may be published by a service or an admin — and
/// the catalogue (``EventCatalogue``) is documentation and the source of the defaults.
///
/// Every entry point asks the same rules: Socket.IO emits (``HubChannels``), `/stream` `publish`
/// messages and `POST /api/broadcast`. Names compare as exact Unicode scalars (``ExactName``).
///
/// ```swift
/// var rules = EventRules()
/// rules.userEvents.insert("agent_request")
/// rules.refusalToPublish(user, type: "agent_request", room: "r", namespace: "/chat", isMember: true) // nil
/// rules.refusalToPublish(service, type: "user_left", room: "r", namespace: "/", isMember: false)    // "reserved event name"
/// ```
public struct EventRules: Sendable {
    /// Names Socket.IO itself uses (socket.io's `RESERVED_EVENTS`): a client library would treat
    /// them as its own, so nobody may publish them.
    public static let socketIOReservedNames: Set<ExactName> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]
    /// Presence events: made by the hub only (on join, leave and disconnect), never published.
    public static let presenceEvents: Set<ExactName> = ["user_joined", "user_left"]
    /// The longest event name accepted, in Unicode scalars.
    public static let maxNameLength = 128

    /// Events that roles user and monitor may publish from a socket (or `/stream`), into rooms they
    /// are in. Services and admins may publish any valid name. Default `chat_message`,
    /// `typing_indicator` (``EventCatalogue/userPublishable``).
    public var userEvents: Set<ExactName>
    /// Events not kept in history (no offset, no replay). Default `typing_indicator`,
    /// `message_delta` (``EventCatalogue/ephemeral``).
    public var ephemeralEvents: Set<ExactName>

    /// The defaults.
    public init(userEvents: Set<ExactName> = Set(EventCatalogue.userPublishable.map { ExactName($0) }),
                ephemeralEvents: Set<ExactName> = Set(EventCatalogue.ephemeral.map { ExactName($0) })) {
        self.userEvents = userEvents
        self.ephemeralEvents = ephemeralEvents
    }

    /// Why `name` is not a valid event name, or `nil` if it is: 1 to ``maxNameLength`` Unicode
    /// scalars, no control characters (C0, DEL, C1).
    public static func invalidNameReason(_ name: String) -> String? {
        let scalars = name.unicodeScalars
        if scalars.isEmpty {
            return "event name must not be empty"
        }
        if scalars.count > Self.maxNameLength {
            return "event name longer than \(Self.maxNameLength) characters"
        }
        if scalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return "event name contains a control character"
        }
        return nil
    }

    /// Why nobody may publish `name`, or `nil` if it is publishable: invalid, reserved by
    /// Socket.IO, or a presence event.
    public static func unpublishableReason(_ name: String) -> String? {
        if let reason = Self.invalidNameReason(name) {
            return reason
        }
        let exact = ExactName(name)
        if Self.socketIOReservedNames.contains(exact) || Self.presenceEvents.contains(exact) {
            return "reserved event name"
        }
        return nil
    }

    /// Whether `type` is kept in history.
    public func isEphemeral(_ type: String) -> Bool {
        self.ephemeralEvents.contains(ExactName(type))
    }

    /// Whether roles user and monitor may publish `type`.
    public func isUserEvent(_ type: String) -> Bool {
        self.userEvents.contains(ExactName(type))
    }

    /// Why `principal` may not publish `type` into `room` of `namespace`, or `nil` if it may.
    /// Services and admins publish any publishable name into rooms they are granted; everyone else
    /// publishes the ``userEvents`` into rooms they are in (`isMember`).
    public func refusalToPublish(_ principal: Principal, type: String, room: String, namespace: String,
                                 isMember: Bool) -> Refusal? {
        if let reason = Self.invalidNameReason(type) {
            return Refusal(.invalidName, reason)
        }
        if Self.unpublishableReason(type) != nil {
            return Refusal(.reservedName, "reserved event name")
        }
        if principal.hasAny(of: [.service, .admin]) {
            return principal.mayJoin(room: room) ? nil : Refusal(.roomNotGranted, "room not granted")
        }
        guard self.isUserEvent(type) else { return Refusal(.roleRequired, "role required to publish \(type)") }
        return isMember ? nil : Refusal(.notInRoom, "join the room first")
    }

    /// Why an event was not published: a fixed ``kind`` (the `reason` label of
    /// `hub_events_refused_total`) and the message the client is told (`{"ok":false,"error":…}`).
    public struct Refusal: Error, Hashable, Sendable {
        /// The kinds of refusal.
        public enum Kind: String, Sendable, CaseIterable {
            /// Empty, longer than 128 characters, or with a control character.
            case invalidName = "invalid_name"
            /// A Socket.IO reserved name or a presence event.
            case reservedName = "reserved_name"
            /// A user or monitor emitting an event outside ``EventRules/userEvents``.
            case roleRequired = "role_required"
            /// A user or monitor emitting into a room it is not in.
            case notInRoom = "not_in_room"
            /// A service or admin publishing into a room its token does not grant.
            case roomNotGranted = "room_not_granted"
            /// The arguments are not a data object naming its room(s).
            case invalidArguments = "invalid_arguments"
        }

        /// The kind.
        public var kind: Kind
        /// The message for the client.
        public var message: String

        /// Creates a refusal.
        public init(_ kind: Kind, _ message: String) {
            self.kind = kind
            self.message = message
        }
    }
}

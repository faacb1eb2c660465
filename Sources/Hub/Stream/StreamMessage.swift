import SocketIO

/// A message a `/stream` client sends: one JSON object per WebSocket text frame, naming what it
/// wants in `"action"`. Docs/stream.md describes the protocol.
///
/// ``parse(_:)`` is pure (no I/O, no hub state): it checks the shape of a message, not whether the
/// client may do it. Members it does not know are ignored, so clients may send extra ones.
///
/// ```swift
/// let message = try StreamMessage.parse(#"{"action":"subscribe","room":"ops","since":12}"#)
/// // .subscribe(StreamMessage.Subscription(namespace: "/", room: "ops", eventTypes: nil, since: 12))
/// ```
public enum StreamMessage: Sendable, Hashable {
    /// `{"action":"auth","token":"…"}`: authenticate with a JWT or static token.
    case auth(token: String)
    /// `{"action":"subscribe","namespace":"/","room":"ops","event_types":[…],"since":N}`.
    case subscribe(Subscription)
    /// `{"action":"unsubscribe","namespace":"/","room":"ops"}`.
    case unsubscribe(namespace: String, room: String)
    /// `{"action":"ping"}`: answered `{"type":"pong"}`.
    case ping

    /// What a `subscribe` message asks for.
    public struct Subscription: Sendable, Hashable {
        /// The namespace, `/` when the message has none.
        public var namespace: String
        /// The room (required).
        public var room: String
        /// The event types wanted, without repeats, in the order given; `nil` for every type.
        public var eventTypes: [String]?
        /// Replay the room's kept events with an offset greater than this before live events;
        /// `nil` for live events only.
        public var since: UInt64?

        /// Creates a subscription request.
        public init(namespace: String = StreamMessage.defaultNamespace, room: String, eventTypes: [String]? = nil,
                    since: UInt64? = nil) {
            self.namespace = namespace
            self.room = room
            self.eventTypes = eventTypes
            self.since = since
        }
    }

    /// Why a client message was refused. ``message`` is what the client is told, in
    /// `{"type":"error","message":…}`; the connection stays open.
    public enum ParseError: Error, Sendable, Hashable {
        /// Not JSON text (or nested deeper than ``StreamMessage/maxDepth``).
        case invalidJSON
        /// JSON, but not an object.
        case notAnObject
        /// A required member is absent or `null`.
        case missingField(String)
        /// A member has the wrong type or value; `expected` says what it must be.
        case invalidField(String, expected: String)
        /// An `action` the gateway does not know (quoted, shortened to 64 characters).
        case unknownAction(String)

        /// The client-facing message, such as `missing field: room`.
        public var message: String {
            switch self {
            case .invalidJSON: "invalid JSON"
            case .notAnObject: "message must be a JSON object"
            case .missingField(let name): "missing field: \(name)"
            case .invalidField(let name, let expected): "invalid field: \(name) must be \(expected)"
            case .unknownAction(let action): "unknown action: \(action)"
            }
        }
    }

    /// The namespace of a subscription that names none, and of a room given in the URL path.
    public static let defaultNamespace = "/"

    /// The deepest JSON nesting accepted: client messages are flat, so this only bounds the work
    /// spent on a hostile message.
    public static let maxDepth = 8

    /// The largest `since` accepted: 2^53 − 1, the largest integer a JSON number (an IEEE 754
    /// double) holds exactly.
    public static let maxOffset: UInt64 = (1 << 53) - 1

    /// The longest unknown action name quoted back in an error, in characters.
    static let maxQuotedActionLength = 64

    /// Parses one client message.
    ///
    /// Rules: the text is a JSON object (nesting at most ``maxDepth``) with a string `action`:
    /// - `auth`: `token` is a string.
    /// - `subscribe`: `room` is a string; `namespace` a string if present (`/` if absent or null);
    ///   `event_types` a non-empty array of strings if present (every type if absent or null;
    ///   repeats are dropped); `since` an integer in 0...2^53−1 if present (no replay if absent or
    ///   null).
    /// - `unsubscribe`: `room` is a string; `namespace` as for `subscribe`.
    /// - `ping`: nothing else.
    ///
    /// Whether the namespace exists, the room name is acceptable and the client may subscribe is
    /// decided later, by ``ChannelPolicy``.
    public static func parse(_ text: String) throws(ParseError) -> StreamMessage {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text, maxDepth: Self.maxDepth)
        } catch {
            throw .invalidJSON
        }
        guard let object = value.objectValue else {
            throw .notAnObject
        }
        guard let actionValue = object["action"], !actionValue.isNull else {
            throw .missingField("action")
        }
        guard let action = actionValue.stringValue else {
            throw .invalidField("action", expected: "a string")
        }
        switch action {
        case "auth":
            return .auth(token: try Self.requiredString("token", in: object))
        case "subscribe":
            return .subscribe(Subscription(
                namespace: try Self.namespace(in: object),
                room: try Self.requiredString("room", in: object),
                eventTypes: try Self.eventTypes(in: object),
                since: try Self.since(in: object)))
        case "unsubscribe":
            return .unsubscribe(namespace: try Self.namespace(in: object), room: try Self.requiredString("room", in: object))
        case "ping":
            return .ping
        default:
            throw .unknownAction(String(action.prefix(Self.maxQuotedActionLength)))
        }
    }

    // MARK: - Fields

    /// A string member that must be there (`null` counts as missing).
    private static func requiredString(_ name: String, in object: JSONObject) throws(ParseError) -> String {
        guard let value = object[name], !value.isNull else {
            throw .missingField(name)
        }
        guard let string = value.stringValue else {
            throw .invalidField(name, expected: "a string")
        }
        return string
    }

    private static func namespace(in object: JSONObject) throws(ParseError) -> String {
        guard let value = object["namespace"], !value.isNull else {
            return Self.defaultNamespace
        }
        guard let namespace = value.stringValue else {
            throw .invalidField("namespace", expected: "a string")
        }
        return namespace
    }

    private static func eventTypes(in object: JSONObject) throws(ParseError) -> [String]? {
        guard let value = object["event_types"], !value.isNull else {
            return nil
        }
        let expected = "a non-empty array of strings"
        guard let elements = value.arrayValue, !elements.isEmpty else {
            throw .invalidField("event_types", expected: expected)
        }
        var seen = Set<String>()
        var types: [String] = []
        for element in elements {
            guard let type = element.stringValue else {
                throw .invalidField("event_types", expected: expected)
            }
            if seen.insert(type).inserted {
                types.append(type)
            }
        }
        return types
    }

    private static func since(in object: JSONObject) throws(ParseError) -> UInt64? {
        guard let value = object["since"], !value.isNull else {
            return nil
        }
        let expected = "an integer from 0 to \(Self.maxOffset)"
        guard let number = value.doubleValue, number >= 0, number <= Double(Self.maxOffset),
              let offset = UInt64(exactly: number) else {
            throw .invalidField("since", expected: expected)
        }
        return offset
    }
}

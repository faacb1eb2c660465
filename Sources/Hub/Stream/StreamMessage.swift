import SocketIO

/// A message a `/stream` client sends: one JSON object per WebSocket text frame, naming what it
/// wants in `"action"`. Docs/stream.md describes the protocol.
///
/// ``parse(_:)`` is pure (no I/O, no hub state): it checks the shape of a message, not whether the
/// client may do it. Members it does not know are ignored, so clients may send extra ones.
/// ``parseRequest(_:)`` also picks out the client's correlation member `ref`, which the gateway
/// echoes on its answer.
///
/// ```swift
/// let message = try StreamMessage.parse(#"{"action":"subscribe","room":"ops","since":12}"#)
/// // .subscribe(StreamMessage.Subscription(namespace: "/", room: "ops", eventTypes: nil, since: 12))
/// ```
public enum StreamMessage: Sendable, Hashable {
    /// `{"action":"auth","token":"…"}`: authenticate with a JWT or static token.
    case auth(token: String)
    /// `{"action":"subscribe","namespace":"/","room":"ops","event_types":[…],"since":N}`; without
    /// `room`, every room the token may read in the namespace.
    case subscribe(Subscription)
    /// `{"action":"unsubscribe","namespace":"/","room":"ops"}`; without `room`, the namespace's
    /// every-room subscription.
    case unsubscribe(namespace: String, room: String?)
    /// `{"action":"publish","namespace":"/","room":"ops","event":"…","data":{…}}`.
    case publish(Publication)
    /// `{"action":"ping"}` or `{"type":"ping"}`: answered `{"type":"pong"}`.
    case ping

    /// What a `subscribe` message asks for.
    public struct Subscription: Sendable, Hashable {
        /// The namespace, `/` when the message has none.
        public var namespace: String
        /// The room; `nil` for every room the token may read in the namespace.
        public var room: String?
        /// The event types wanted, without repeats, in the order given; `nil` for every type.
        public var eventTypes: [String]?
        /// Replay the room's kept events with an offset greater than this before live events;
        /// `nil` for live events only. Only with a room (offsets are per room).
        public var since: UInt64?

        /// Creates a subscription request.
        public init(namespace: String = StreamMessage.defaultNamespace, room: String?, eventTypes: [String]? = nil,
                    since: UInt64? = nil) {
            self.namespace = namespace
            self.room = room
            self.eventTypes = eventTypes
            self.since = since
        }
    }

    /// What a `publish` message asks for.
    public struct Publication: Sendable, Hashable {
        /// The namespace, `/` when the message has none.
        public var namespace: String
        /// The room (required).
        public var room: String
        /// The event name (required; which names are allowed is decided by the hub's rules).
        public var event: String
        /// The event's data: a JSON object, passed on untouched.
        public var data: JSONObject

        /// Creates a publish request.
        public init(namespace: String = StreamMessage.defaultNamespace, room: String, event: String, data: JSONObject) {
            self.namespace = namespace
            self.room = room
            self.event = event
            self.data = data
        }
    }

    /// A client message with its correlation member: what ``parseRequest(_:)`` returns.
    public struct Request: Sendable, Hashable {
        /// The message, or why it was refused.
        public var message: Result<StreamMessage, ParseError>
        /// The message's `ref` member (a string of at most ``maxReferenceLength`` characters, or an
        /// integer), echoed on the answer; `nil` if absent, `null`, malformed, or the text is not a
        /// JSON object.
        public var ref: JSONValue?

        /// Creates a request.
        public init(message: Result<StreamMessage, ParseError>, ref: JSONValue? = nil) {
            self.message = message
            self.ref = ref
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

    /// The longest string `ref` accepted, in Unicode scalars.
    public static let maxReferenceLength = 128

    /// Parses one client message and its `ref`.
    ///
    /// `ref` is the client's correlation member: a string (at most ``maxReferenceLength`` Unicode
    /// scalars) or an integer (magnitude at most 2^53 − 1). Any other `ref` is refused with
    /// `invalid field: ref must be …` (and then not echoed); it is accepted on every action.
    public static func parseRequest(_ text: String) -> Request {
        let object: JSONObject
        do {
            object = try Self.object(text)
        } catch {
            return Request(message: .failure(error))
        }
        let ref: JSONValue?
        do {
            ref = try Self.reference(in: object)
        } catch {
            return Request(message: .failure(error))
        }
        do {
            return Request(message: .success(try Self.message(in: object)), ref: ref)
        } catch {
            return Request(message: .failure(error), ref: ref)
        }
    }

    /// Parses one client message.
    ///
    /// Rules: the text is a JSON object (nesting at most ``maxDepth``) with a string `action`
    /// (or, without `action`, `"type":"ping"`):
    /// - `auth`: `token` is a string.
    /// - `subscribe`: `room` a string if present (every readable room if absent or null);
    ///   `namespace` a string if present (`/` if absent or null); `event_types` a non-empty array of
    ///   strings if present (every type if absent or null; repeats — the same Unicode scalars — are
    ///   dropped); `since` an integer in 0...2^53−1 if present (no replay if absent or null), and
    ///   only with a `room`.
    /// - `unsubscribe`: `room` a string if present; `namespace` as for `subscribe`.
    /// - `publish`: `room` and `event` are strings, `data` an object; `namespace` as for `subscribe`.
    /// - `ping`: nothing else.
    ///
    /// Whether the namespace exists, the room name is acceptable, the event may be published and
    /// the client may do it is decided later, by ``ChannelPolicy`` and the hub's event rules.
    public static func parse(_ text: String) throws(ParseError) -> StreamMessage {
        try Self.message(in: try Self.object(text))
    }

    private static func object(_ text: String) throws(ParseError) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text, maxDepth: Self.maxDepth)
        } catch {
            throw .invalidJSON
        }
        guard let object = value.objectValue else {
            throw .notAnObject
        }
        return object
    }

    private static func message(in object: JSONObject) throws(ParseError) -> StreamMessage {
        guard let actionValue = object["action"], !actionValue.isNull else {
            if let type = object["type"]?.stringValue, type.utf8.elementsEqual("ping".utf8) {
                return .ping
            }
            throw .missingField("action")
        }
        guard let action = actionValue.stringValue else {
            throw .invalidField("action", expected: "a string")
        }
        switch action {
        case "auth":
            return .auth(token: try Self.requiredString("token", in: object))
        case "subscribe":
            let namespace = try Self.namespace(in: object)
            let room = try Self.optionalString("room", in: object)
            let eventTypes = try Self.eventTypes(in: object)
            let since = try Self.since(in: object)
            if room == nil, since != nil {
                throw .invalidField("since", expected: "absent without a room (offsets are per room)")
            }
            return .subscribe(Subscription(namespace: namespace, room: room, eventTypes: eventTypes, since: since))
        case "unsubscribe":
            let namespace = try Self.namespace(in: object)
            return .unsubscribe(namespace: namespace, room: try Self.optionalString("room", in: object))
        case "publish":
            let namespace = try Self.namespace(in: object)
            let room = try Self.requiredString("room", in: object)
            let event = try Self.requiredString("event", in: object)
            return .publish(Publication(namespace: namespace, room: room, event: event, data: try Self.data(in: object)))
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

    /// A string member that may be absent (or `null`).
    private static func optionalString(_ name: String, in object: JSONObject) throws(ParseError) -> String? {
        guard let value = object[name], !value.isNull else {
            return nil
        }
        guard let string = value.stringValue else {
            throw .invalidField(name, expected: "a string")
        }
        return string
    }

    private static func data(in object: JSONObject) throws(ParseError) -> JSONObject {
        guard let value = object["data"], !value.isNull else {
            throw .missingField("data")
        }
        guard let data = value.objectValue else {
            throw .invalidField("data", expected: "an object")
        }
        return data
    }

    private static func reference(in object: JSONObject) throws(ParseError) -> JSONValue? {
        guard let value = object["ref"], !value.isNull else {
            return nil
        }
        let expected = "a string of at most \(Self.maxReferenceLength) characters or an integer"
        if let string = value.stringValue {
            guard string.unicodeScalars.count <= Self.maxReferenceLength else {
                throw .invalidField("ref", expected: expected)
            }
            return value
        }
        guard let number = value.doubleValue, number.magnitude <= Double(Self.maxOffset), number.rounded() == number else {
            throw .invalidField("ref", expected: expected)
        }
        return .number(number)
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
        // Repeats are the same scalars (bytes): String equality would merge canonical equivalents.
        var seen = Set<[UInt8]>()
        var types: [String] = []
        for element in elements {
            guard let type = element.stringValue else {
                throw .invalidField("event_types", expected: expected)
            }
            if seen.insert(Array(type.utf8)).inserted {
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

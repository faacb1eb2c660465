import NIOWebSocket
import SocketIO

/// The protocol logic of one `/stream` connection, without I/O: authentication, the subscriptions
/// and their replay/live hand-over, replies, and the slow-consumer bound. ``StreamHandler`` feeds it
/// what happens and carries out the ``Action``s it returns, in order.
///
/// Replay without gaps or duplicates: a subscription is registered with the broadcaster *before*
/// the room's history is read (``Action/startSubscription(id:filter:since:)``). The handler then
/// reads the room's latest offset, and after it the events after `since`, and reports both with
/// ``subscriptionStarted(id:latestOffset:history:)``. Replayed events are those with an offset in
/// `since+1...latestOffset`; live events are delivered only with an offset above `latestOffset`
/// (or none: ephemeral events are not stored). An event is appended to history before it is handed
/// to subscribers, so every event with a greater offset reaches the registered subscriber, and
/// every event at or below it is in the history that was read. Live events that arrive while a
/// subscription is starting are buffered and delivered after the replay.
struct StreamSessionState {
    /// Where the connection is.
    enum Phase: Equatable {
        /// Waiting for `{"action":"auth"}` (or the outcome of the URL's token).
        case awaitingAuth
        /// Authenticated as the principal.
        case authenticated(Principal)
        /// Closing or closed: every input is ignored.
        case closed
    }

    /// One subscription of this connection; subscribing to the same room again gets a new id.
    typealias SubscriptionID = UInt64

    /// What the handler must do, in order.
    enum Action: Equatable {
        /// Send this message as a text frame, then report it with ``wrote(bytes:channelWritable:)``.
        case send(JSONValue)
        /// Send this replayed event as a text frame, without counting it toward the slow-consumer
        /// bound: a replay is bounded by the room's history size and is written in one go, faster
        /// than any client can read it.
        case replay(JSONValue)
        /// Check this token and report the outcome with ``authenticated(_:)``.
        case authenticate(token: String)
        /// Start the authentication timer; when it fires, call ``authTimedOut()``.
        case startAuthTimer
        /// Stop the authentication timer.
        case cancelAuthTimer
        /// Register a subscriber for `id` with the broadcaster, then read the room's latest offset
        /// and (if `since` is set) its events after `since`, and report them with
        /// ``subscriptionStarted(id:latestOffset:history:)``.
        case startSubscription(id: SubscriptionID, filter: EventFilter, since: UInt64?)
        /// Unregister the subscriber of `id`.
        case endSubscription(id: SubscriptionID)
        /// Send a close frame with `code` and `reason`, then close the connection.
        case close(code: WebSocketErrorCode, reason: String)
    }

    private struct Key: Hashable {
        var namespace: String
        var room: String
    }

    private struct Subscription {
        enum Stage {
            /// Registered; waiting for the history read. Live events wait in `buffer`.
            case starting(since: UInt64?, buffer: [HubEvent])
            /// Replayed; live events with an offset above `cutoff` (or none) are delivered.
            case live(cutoff: UInt64)
        }

        var id: SubscriptionID
        var eventTypes: [String]?
        var stage: Stage

        func wants(_ event: HubEvent) -> Bool {
            self.eventTypes?.contains(event.type) ?? true
        }
    }

    /// Where the connection is.
    private(set) var phase = Phase.awaitingAuth
    /// The room of `/stream/{room}`, subscribed in namespace `/` once authenticated.
    private let pathRoom: String?
    /// The most subscriptions at once.
    private let maxSubscriptions: Int
    /// Bytes that may be written while the channel is not writable before the client counts as slow.
    private let maxBufferedBytes: Int
    private var subscriptions: [Key: Subscription] = [:]
    private var nextSubscriptionID: SubscriptionID = 1
    /// Bytes written while the channel was not writable, since it last was.
    private var overflowBytes = 0

    /// A connection that has not authenticated yet.
    init(pathRoom: String?, maxSubscriptions: Int, maxBufferedBytes: Int) {
        self.pathRoom = pathRoom
        self.maxSubscriptions = maxSubscriptions
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// How many subscriptions are open.
    var subscriptionCount: Int { self.subscriptions.count }

    // MARK: - Authentication

    /// The connection is open: check the URL's token, or wait for an `auth` message.
    mutating func start(queryToken: String?) -> [Action] {
        guard case .awaitingAuth = self.phase else { return [] }
        if let queryToken {
            return [.authenticate(token: queryToken)]
        }
        return [.startAuthTimer]
    }

    /// The outcome of an ``Action/authenticate(token:)``.
    mutating func authenticated(_ result: Result<Principal, AuthFailure>) -> [Action] {
        guard case .awaitingAuth = self.phase else { return [] }
        switch result {
        case .failure(let failure):
            return [.send(Self.error("unauthorized", reason: failure.reason))]
                + self.close(code: .policyViolation, reason: "unauthorized")
        case .success(let principal):
            self.phase = .authenticated(principal)
            var actions: [Action] = [
                .cancelAuthTimer,
                .send(["type": "authenticated", "user": .string(principal.subject),
                       "roles": .array(principal.roles.map(\.rawValue).sorted().map(JSONValue.string))]),
            ]
            if let room = self.pathRoom {
                actions += self.subscribe(StreamMessage.Subscription(namespace: StreamMessage.defaultNamespace, room: room))
            }
            return actions
        }
    }

    /// The authentication timer fired.
    mutating func authTimedOut() -> [Action] {
        guard case .awaitingAuth = self.phase else { return [] }
        return [.send(Self.error("authentication timeout"))] + self.close(code: .policyViolation, reason: "authentication timeout")
    }

    // MARK: - Client messages

    /// A text frame (valid UTF-8) from the client.
    mutating func receive(text: String) -> [Action] {
        if case .closed = self.phase { return [] }
        let message: StreamMessage
        do {
            message = try StreamMessage.parse(text)
        } catch {
            return [.send(Self.error(error.message))]
        }
        switch message {
        case .ping:
            return [.send(["type": "pong"])]
        case .auth(let token):
            guard case .awaitingAuth = self.phase else { return [.send(Self.error("already authenticated"))] }
            return [.authenticate(token: token)]
        case .subscribe(let request):
            return self.subscribe(request)
        case .unsubscribe(let namespace, let room):
            return self.unsubscribe(namespace: namespace, room: room)
        }
    }

    /// A binary frame from the client.
    mutating func receiveBinary() -> [Action] {
        if case .closed = self.phase { return [] }
        return [.send(Self.error("binary frames are not supported"))]
    }

    private mutating func subscribe(_ request: StreamMessage.Subscription) -> [Action] {
        guard case .authenticated(let principal) = self.phase else {
            return [.send(Self.error("not authenticated"))]
        }
        let namespace = request.namespace
        let room = request.room
        guard ChannelPolicy.namespaceRoles[namespace] != nil else {
            return [.send(Self.error("invalid namespace", namespace: namespace, room: room))]
        }
        guard ChannelPolicy.isValidRoomName(room) else {
            return [.send(Self.error("invalid room name", reason: "1 to \(ChannelPolicy.maxRoomNameLength) characters",
                                     namespace: namespace, room: room))]
        }
        guard ChannelPolicy.mayConnect(principal, to: namespace) else {
            return [.send(Self.error("forbidden", reason: "role required for \(namespace)", namespace: namespace, room: room))]
        }
        if let refusal = ChannelPolicy.refusalToJoin(principal, room: room, in: namespace) {
            return [.send(Self.error("forbidden", reason: refusal, namespace: namespace, room: room))]
        }
        let key = Key(namespace: namespace, room: room)
        let existing = self.subscriptions[key]
        if existing == nil, self.subscriptions.count >= self.maxSubscriptions {
            return [.send(Self.error("too many subscriptions", reason: "at most \(self.maxSubscriptions) per connection",
                                     namespace: namespace, room: room))]
        }
        let id = self.nextSubscriptionID
        self.nextSubscriptionID += 1
        var actions: [Action] = []
        if let existing {
            actions.append(.endSubscription(id: existing.id))
        }
        self.subscriptions[key] = Subscription(id: id, eventTypes: request.eventTypes,
                                               stage: .starting(since: request.since, buffer: []))
        let filter = EventFilter(namespace: namespace, room: room, types: request.eventTypes.map(Set.init))
        actions.append(.startSubscription(id: id, filter: filter, since: request.since))
        return actions
    }

    private mutating func unsubscribe(namespace: String, room: String) -> [Action] {
        guard case .authenticated = self.phase else {
            return [.send(Self.error("not authenticated"))]
        }
        guard let subscription = self.subscriptions.removeValue(forKey: Key(namespace: namespace, room: room)) else {
            return [.send(Self.error("not subscribed", namespace: namespace, room: room))]
        }
        return [.endSubscription(id: subscription.id),
                .send(["type": "unsubscribed", "namespace": .string(namespace), "room": .string(room)])]
    }

    // MARK: - Events

    /// The outcome of an ``Action/startSubscription(id:filter:since:)``: the room's latest offset,
    /// read after the subscriber was registered, and (if `since` was set) the events after `since`
    /// read after that. Answers `subscribed`, then the replay, then any live events buffered meanwhile.
    mutating func subscriptionStarted(id: SubscriptionID, latestOffset: UInt64, history: [HubEvent]) -> [Action] {
        guard case .authenticated = self.phase,
              let (key, subscription) = self.subscriptions.first(where: { $0.value.id == id }),
              case .starting(let since, let buffer) = subscription.stage else {
            // Ended (or replaced) before it started: make sure nothing stays registered.
            return [.endSubscription(id: id)]
        }
        self.subscriptions[key]!.stage = .live(cutoff: latestOffset)
        var actions: [Action] = [
            .send(["type": "subscribed", "namespace": .string(key.namespace), "room": .string(key.room),
                   "event_types": subscription.eventTypes.map { .array($0.map(JSONValue.string)) } ?? .null,
                   "latest_offset": .number(Double(latestOffset))]),
        ]
        if let since {
            for event in history where subscription.wants(event) {
                guard HistoryHandover.isReplayed(event, since: since, latestOffset: latestOffset) else { continue }
                actions.append(.replay(Self.eventMessage(event)))
            }
        }
        for event in buffer where subscription.wants(event) && Self.isLive(event, cutoff: latestOffset) {
            actions.append(.send(Self.eventMessage(event)))
        }
        return actions
    }

    /// A live event for subscription `id` (from its subscriber, on the connection's loop).
    mutating func receive(event: HubEvent, subscription id: SubscriptionID) -> [Action] {
        guard case .authenticated = self.phase,
              let (key, subscription) = self.subscriptions.first(where: { $0.value.id == id }),
              subscription.wants(event) else {
            return []
        }
        switch subscription.stage {
        case .starting(let since, var buffer):
            buffer.append(event)
            self.subscriptions[key]!.stage = .starting(since: since, buffer: buffer)
            return []
        case .live(let cutoff):
            return Self.isLive(event, cutoff: cutoff) ? [.send(Self.eventMessage(event))] : []
        }
    }

    private static func isLive(_ event: HubEvent, cutoff: UInt64) -> Bool {
        HistoryHandover.isLive(event, cutoff: cutoff)
    }

    // MARK: - Output and closing

    /// A message of `bytes` was written; `channelWritable` is whether the channel still took it
    /// without passing its high-water mark. More than `maxBufferedBytes` written while not writable
    /// closes the connection with 1008 "slow consumer".
    mutating func wrote(bytes: Int, channelWritable: Bool) -> [Action] {
        if case .closed = self.phase { return [] }
        if channelWritable {
            self.overflowBytes = 0
            return []
        }
        self.overflowBytes += bytes
        guard self.overflowBytes > self.maxBufferedBytes else { return [] }
        return self.close(code: .policyViolation, reason: "slow consumer")
    }

    /// Ends every subscription and closes with `code` (invalid UTF-8, a message too large, the
    /// client's own close frame, …).
    mutating func close(code: WebSocketErrorCode, reason: String) -> [Action] {
        let wasOpen = self.phase != .closed
        let actions = self.connectionClosed()
        return wasOpen ? actions + [.close(code: code, reason: reason)] : actions
    }

    /// The connection is gone (or going): ends every subscription and the timer; later inputs are ignored.
    mutating func connectionClosed() -> [Action] {
        let wasAwaitingAuth = self.phase == .awaitingAuth
        self.phase = .closed
        var actions: [Action] = wasAwaitingAuth ? [.cancelAuthTimer] : []
        actions += self.subscriptions.values.map(\.id).sorted().map { Action.endSubscription(id: $0) }
        self.subscriptions.removeAll()
        return actions
    }

    // MARK: - Messages

    /// `{"type":"event","event":{…}}`.
    static func eventMessage(_ event: HubEvent) -> JSONValue {
        ["type": "event", "event": event.json]
    }

    /// `{"type":"error","message":…}`, with `reason`, `namespace` and `room` when given.
    static func error(_ message: String, reason: String? = nil, namespace: String? = nil, room: String? = nil) -> JSONValue {
        var object: JSONObject = ["type": "error", "message": .string(message)]
        if let reason { object["reason"] = .string(reason) }
        if let namespace { object["namespace"] = .string(namespace) }
        if let room { object["room"] = .string(room) }
        return .object(object)
    }
}

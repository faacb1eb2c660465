import Foundation
import NIOWebSocket
import SocketIO

/// The protocol logic of one `/stream` connection, without I/O: authentication, the subscriptions
/// and their replay/live hand-over, publishing, the heartbeat, replies, and the slow-consumer
/// bound. ``StreamHandler`` feeds it what happens and carries out the ``Action``s it returns, in
/// order.
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
///
/// Once per connection: the connection's subscribers form one delivery group
/// (``EventSubscriber/deliveryGroup``), so the broadcaster hands each event to the connection
/// once, and ``receive(event:)`` sends it once however many subscriptions want it (a room
/// subscription and an every-readable-room subscription of the same namespace, say).
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

    /// Why a principal may not publish an event: `nil` if it may, else the reason. Arguments:
    /// the principal, the event name, the room, the namespace, and whether the connection is "in"
    /// the room (has a subscription covering it).
    typealias PublishRule = @Sendable (_ principal: Principal, _ type: String, _ room: String, _ namespace: String,
                                       _ isMember: Bool) -> String?

    /// A publish the handler carries out with ``EventBroadcaster/publish(type:data:namespace:rooms:source:exceptSocket:)``.
    struct Publish: Equatable {
        var type: String
        var data: JSONObject
        var namespace: String
        var room: String
        /// `stream:<subject>`.
        var source: String
        /// The client's `ref`, for the answer.
        var ref: JSONValue?
    }

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
        /// Register a subscriber for `id` with the broadcaster. For a one-room filter, then read the
        /// room's latest offset and (if `since` is set) its events after `since`; for an
        /// every-readable-room filter read nothing. Report with
        /// ``subscriptionStarted(id:latestOffset:history:)``.
        case startSubscription(id: SubscriptionID, filter: EventFilter, since: UInt64?)
        /// Unregister the subscriber of `id`.
        case endSubscription(id: SubscriptionID)
        /// Publish, then report the outcome with ``published(ref:result:)`` — or, over the publish
        /// rate, report ``publishRateLimited(ref:disconnect:)`` instead.
        case publish(Publish)
        /// Send a WebSocket ping frame.
        case sendPing
        /// Start the pong timer (`streamPingTimeout`); when it fires, call ``pongTimedOut()``.
        case startPongTimer
        /// Stop the pong timer.
        case cancelPongTimer
        /// Send a close frame with `code` and `reason`, then close the connection.
        case close(code: WebSocketErrorCode, reason: String)
        /// (Re)start the token's clock for this expiry (`nil`: the token does not expire): call
        /// ``tokenExpiring()`` `tokenExpiryWarning` before it and ``tokenExpired()`` at it.
        case armTokenExpiry(Date?)
    }

    /// The most live events one starting subscription holds back while its history is read (a
    /// Redis round trip); one more closes the connection with 1008 `slow consumer` (the client
    /// resumes with `since`).
    static let maxEventsWhileStarting = 4096

    /// The close frame sent when the client answered no ping in time.
    static let pingTimeoutClose = (code: WebSocketErrorCode.goingAway, reason: "ping timeout")

    /// A subscription's namespace and room (`nil`: every readable room) as UTF-8 bytes: names are
    /// told apart by their exact scalars.
    private struct Key: Hashable {
        var namespace: [UInt8]
        var room: [UInt8]?

        init(namespace: String, room: String?) {
            self.namespace = Array(namespace.utf8)
            self.room = room.map { Array($0.utf8) }
        }
    }

    private struct Subscription {
        enum Stage {
            /// Registered; waiting for the history read. Live events wait in `buffer`; `ref` is
            /// echoed on `subscribed`.
            case starting(since: UInt64?, buffer: [HubEvent], ref: JSONValue?)
            /// Replayed; live events with an offset above `cutoff` (or none) are delivered.
            case live(cutoff: UInt64)
        }

        var id: SubscriptionID
        var namespace: String
        var room: String?
        var filter: EventFilter
        var stage: Stage
    }

    /// Where the connection is.
    private(set) var phase = Phase.awaitingAuth
    /// The room of `/stream/{room}`, subscribed in namespace `/` once authenticated.
    private let pathRoom: String?
    /// The most subscriptions at once.
    private let maxSubscriptions: Int
    /// Bytes that may be written while the channel is not writable before the client counts as slow.
    private let maxBufferedBytes: Int
    /// The most publishes waiting for the broadcaster at once.
    private let maxPendingPublishes: Int
    private let publishRule: PublishRule
    private var subscriptions: [Key: Subscription] = [:]
    private var nextSubscriptionID: SubscriptionID = 1
    /// Bytes written while the channel was not writable, since it last was.
    private var overflowBytes = 0
    /// The `ref` of the `auth` message being checked.
    private var authRef: JSONValue?
    /// Whether the `auth` being checked refreshes the token of an authenticated connection.
    private var refreshing = false
    /// Publishes handed to the handler and not yet answered.
    private(set) var pendingPublishes = 0
    /// Whether a ping was sent and nothing has come from the client since.
    private(set) var awaitingPong = false

    /// A connection that has not authenticated yet.
    /// - Parameters:
    ///   - publishRule: Who may publish what (the hub's event rules, as for Socket.IO sockets).
    init(pathRoom: String?, maxSubscriptions: Int, maxBufferedBytes: Int, maxPendingPublishes: Int = 64,
         publishRule: @escaping PublishRule = StreamSessionState.defaultRule) {
        self.pathRoom = pathRoom
        self.maxSubscriptions = maxSubscriptions
        self.maxBufferedBytes = maxBufferedBytes
        self.maxPendingPublishes = maxPendingPublishes
        self.publishRule = publishRule
    }

    /// The default ``EventRules`` as a ``PublishRule`` (the handler uses the hub's own rules).
    static let defaultRule: PublishRule = { principal, type, room, namespace, isMember in
        EventRules().refusalToPublish(principal, type: type, room: room, namespace: namespace, isMember: isMember)?.message
    }

    /// How many subscriptions are open.
    var subscriptionCount: Int { self.subscriptions.count }

    /// The principal, once authenticated.
    var principal: Principal? {
        if case .authenticated(let principal) = self.phase { return principal }
        return nil
    }

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
        if self.refreshing, case .authenticated(let previous) = self.phase {
            return self.refreshed(result, previous: previous)
        }
        guard case .awaitingAuth = self.phase else { return [] }
        let ref = self.authRef
        self.authRef = nil
        switch result {
        case .failure(let failure):
            return [.send(Self.error("unauthorized", reason: failure.reason, ref: ref))]
                + self.close(code: .policyViolation, reason: "unauthorized")
        case .success(let principal):
            self.phase = .authenticated(principal)
            var actions: [Action] = [
                .cancelAuthTimer,
                .send(Self.withRef(["type": "authenticated", "user": .string(principal.subject),
                                    "roles": .array(principal.roles.map(\.rawValue).sorted().map(JSONValue.string))], ref)),
                .armTokenExpiry(principal.expiresAt),
            ]
            if let room = self.pathRoom {
                actions += self.subscribe(StreamMessage.Subscription(namespace: StreamMessage.defaultNamespace, room: room), ref: nil)
            }
            return actions
        }
    }

    /// The outcome of a refresh (`auth` on an authenticated connection): a token for the same
    /// subject replaces the principal and restarts the token's clock, answered `authenticated` with
    /// `"refreshed": true`; if its roles or rooms differ, every subscription ends (`unsubscribed`
    /// with `"reason": "grants changed"`) for the client to subscribe again under the new grants. A
    /// refused refresh is answered with an error; the connection keeps its current token.
    private mutating func refreshed(_ result: Result<Principal, AuthFailure>, previous: Principal) -> [Action] {
        let ref = self.authRef
        self.authRef = nil
        self.refreshing = false
        let principal: Principal
        switch result {
        case .failure(let failure):
            return [.send(Self.error("refresh refused", reason: failure.reason, ref: ref))]
        case .success(let refreshed):
            principal = refreshed
        }
        guard ExactName(principal.subject) == ExactName(previous.subject) else {
            return [.send(Self.error("refresh refused", reason: "token belongs to another user", ref: ref))]
        }
        self.phase = .authenticated(principal)
        var actions: [Action] = []
        if principal.roles != previous.roles || principal.rooms != previous.rooms {
            for subscription in self.subscriptions.values.sorted(by: { $0.id < $1.id }) {
                actions.append(.endSubscription(id: subscription.id))
                actions.append(.send(["type": "unsubscribed", "namespace": .string(subscription.namespace),
                                      "room": subscription.room.map(JSONValue.string) ?? .null, "reason": "grants changed"]))
            }
            self.subscriptions.removeAll()
        }
        actions.append(.send(Self.withRef(["type": "authenticated", "user": .string(principal.subject),
                                           "roles": .array(principal.roles.map(\.rawValue).sorted().map(JSONValue.string)),
                                           "refreshed": true], ref)))
        actions.append(.armTokenExpiry(principal.expiresAt))
        return actions
    }

    /// `tokenExpiryWarning` before the token expires: `{"type":"token_expiring","expires_at","in_ms"}`
    /// (refresh with `{"action":"auth","token":…}`).
    mutating func tokenExpiring(now: Date = Date()) -> [Action] {
        guard case .authenticated(let principal) = self.phase, let expiresAt = principal.expiresAt else { return [] }
        return [.send(["type": "token_expiring", "expires_at": .string(HubEvent.format(expiresAt)),
                       "in_ms": .number(max(0, expiresAt.timeIntervalSince(now) * 1000).rounded(.down))])]
    }

    /// The token expired: `{"type":"token_expired"}`, then close 1008 `token expired`.
    mutating func tokenExpired() -> [Action] {
        guard case .authenticated = self.phase else { return [] }
        return [.send(["type": "token_expired"])] + self.close(code: .policyViolation, reason: "token expired")
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
        let request = StreamMessage.parseRequest(text)
        let ref = request.ref
        let message: StreamMessage
        switch request.message {
        case .failure(let error): return [.send(Self.error(error.message, ref: ref))]
        case .success(let parsed): message = parsed
        }
        switch message {
        case .ping:
            return [.send(Self.withRef(["type": "pong"], ref))]
        case .auth(let token):
            switch self.phase {
            case .awaitingAuth:
                break
            case .authenticated:
                guard !self.refreshing else { return [.send(Self.error("refresh in progress", ref: ref))] }
                self.refreshing = true
            case .closed:
                return []
            }
            self.authRef = ref
            return [.authenticate(token: token)]
        case .subscribe(let request):
            return self.subscribe(request, ref: ref)
        case .unsubscribe(let namespace, let room):
            return self.unsubscribe(namespace: namespace, room: room, ref: ref)
        case .publish(let publication):
            return self.publish(publication, ref: ref)
        }
    }

    /// A binary frame from the client.
    mutating func receiveBinary() -> [Action] {
        if case .closed = self.phase { return [] }
        return [.send(Self.error("binary frames are not supported"))]
    }

    /// The hub's spelling of `namespace` if it is one of the hub's (compared as bytes).
    private static func knownNamespace(_ namespace: String) -> String? {
        ChannelPolicy.namespaces.first { $0.utf8.elementsEqual(namespace.utf8) }
    }

    private mutating func subscribe(_ request: StreamMessage.Subscription, ref: JSONValue?) -> [Action] {
        guard case .authenticated(let principal) = self.phase else {
            return [.send(Self.error("not authenticated", ref: ref))]
        }
        let room = request.room
        guard let namespace = Self.knownNamespace(request.namespace) else {
            return [.send(Self.error("invalid namespace", namespace: request.namespace, room: room, ref: ref))]
        }
        if let room {
            guard ChannelPolicy.isValidRoomName(room) else {
                return [.send(Self.error("invalid room name", reason: "1 to \(ChannelPolicy.maxRoomNameLength) characters",
                                         namespace: namespace, room: room, ref: ref))]
            }
        }
        guard ChannelPolicy.mayConnect(principal, to: namespace) else {
            return [.send(Self.error("forbidden", reason: "role required for \(namespace)", namespace: namespace, room: room, ref: ref))]
        }
        if let room, let refusal = ChannelPolicy.refusalToJoin(principal, room: room, in: namespace) {
            return [.send(Self.error("forbidden", reason: refusal, namespace: namespace, room: room, ref: ref))]
        }
        let key = Key(namespace: namespace, room: room)
        let existing = self.subscriptions[key]
        if existing == nil, self.subscriptions.count >= self.maxSubscriptions {
            return [.send(Self.error("too many subscriptions", reason: "at most \(self.maxSubscriptions) per connection",
                                     namespace: namespace, room: room, ref: ref))]
        }
        let id = self.nextSubscriptionID
        self.nextSubscriptionID += 1
        var actions: [Action] = []
        if let existing {
            actions.append(.endSubscription(id: existing.id))
        }
        let scope: EventFilter.Scope = room.map(EventFilter.Scope.room) ?? .readable(by: principal)
        let filter = EventFilter(namespace: namespace, scope: scope, eventTypes: request.eventTypes)
        self.subscriptions[key] = Subscription(id: id, namespace: namespace, room: room, filter: filter,
                                               stage: .starting(since: request.since, buffer: [], ref: ref))
        actions.append(.startSubscription(id: id, filter: filter, since: room == nil ? nil : request.since))
        return actions
    }

    private mutating func unsubscribe(namespace: String, room: String?, ref: JSONValue?) -> [Action] {
        guard case .authenticated = self.phase else {
            return [.send(Self.error("not authenticated", ref: ref))]
        }
        guard let subscription = self.subscriptions.removeValue(forKey: Key(namespace: namespace, room: room)) else {
            return [.send(Self.error("not subscribed", namespace: namespace, room: room, ref: ref))]
        }
        return [.endSubscription(id: subscription.id),
                .send(Self.withRef(["type": "unsubscribed", "namespace": .string(subscription.namespace),
                                    "room": subscription.room.map(JSONValue.string) ?? .null], ref))]
    }

    // MARK: - Publishing

    /// Whether the connection is "in" `room` of `namespace`, as a socket that joined it would be:
    /// one of its subscriptions covers the room (a subscription to it, or an every-readable-room
    /// subscription of the namespace whose token may join the room).
    func covers(namespace: String, room: String) -> Bool {
        self.subscriptions.values.contains { subscription in
            subscription.filter.namespaceKey.elementsEqual(namespace.utf8) && subscription.filter.wantsRoom(room)
        }
    }

    private mutating func publish(_ publication: StreamMessage.Publication, ref: JSONValue?) -> [Action] {
        guard case .authenticated(let principal) = self.phase else {
            return [.send(Self.error("not authenticated", ref: ref))]
        }
        let room = publication.room
        guard let namespace = Self.knownNamespace(publication.namespace) else {
            return [.send(Self.error("invalid namespace", namespace: publication.namespace, room: room, ref: ref))]
        }
        guard ChannelPolicy.isValidRoomName(room) else {
            return [.send(Self.error("invalid room name", reason: "1 to \(ChannelPolicy.maxRoomNameLength) characters",
                                     namespace: namespace, room: room, ref: ref))]
        }
        guard ChannelPolicy.mayConnect(principal, to: namespace) else {
            return [.send(Self.error("forbidden", reason: "role required for \(namespace)", namespace: namespace, room: room, ref: ref))]
        }
        let isMember = self.covers(namespace: namespace, room: room)
        if let refusal = self.publishRule(principal, publication.event, room, namespace, isMember) {
            return [.send(Self.error("publish refused", reason: refusal, namespace: namespace, room: room, ref: ref))]
        }
        guard self.pendingPublishes < self.maxPendingPublishes else {
            return [.send(Self.error("too many pending publishes", reason: "at most \(self.maxPendingPublishes) per connection",
                                     namespace: namespace, room: room, ref: ref))]
        }
        self.pendingPublishes += 1
        return [.publish(Publish(type: publication.event, data: publication.data, namespace: namespace, room: room,
                                 source: "stream:\(principal.subject)", ref: ref))]
    }

    /// An ``Action/publish(_:)`` the handler did not carry out: the connection is over its publish
    /// rate (`eventRateLimit` / `eventRateBurst`, as a socket). Answers
    /// `{"type":"error","message":"rate limited"}`; with `disconnect` (a whole burst refused in a
    /// row) also closes with 1008 `rate limited`.
    mutating func publishRateLimited(ref: JSONValue?, disconnect: Bool) -> [Action] {
        self.pendingPublishes = max(0, self.pendingPublishes - 1)
        if case .closed = self.phase { return [] }
        let answer: [Action] = [.send(Self.error("rate limited", ref: ref))]
        return disconnect ? answer + self.close(code: .policyViolation, reason: "rate limited") : answer
    }

    /// The outcome of an ``Action/publish(_:)``: the first event's id and the deliveries, or the
    /// broadcaster's error. Answers `published` (or an error) with the publish's `ref`.
    mutating func published(ref: JSONValue?, result: Result<(id: String, delivered: Int), any Error>) -> [Action] {
        self.pendingPublishes = max(0, self.pendingPublishes - 1)
        if case .closed = self.phase { return [] }
        switch result {
        case .success(let outcome):
            return [.send(Self.withRef(["type": "published", "id": .string(outcome.id),
                                        "delivered": .number(Double(outcome.delivered))], ref))]
        case .failure(let error):
            return [.send(Self.error("publish failed", reason: "\(error)", ref: ref))]
        }
    }

    // MARK: - Heartbeat

    /// The ping interval passed: send a ping and, unless one is already outstanding, start the
    /// pong timer.
    mutating func pingDue() -> [Action] {
        if case .closed = self.phase { return [] }
        if self.awaitingPong {
            return [.sendPing]
        }
        self.awaitingPong = true
        return [.sendPing, .startPongTimer]
    }

    /// A frame (any frame: a pong, a message, a ping, …) came from the client: it is alive.
    mutating func frameReceived() -> [Action] {
        guard self.awaitingPong else { return [] }
        self.awaitingPong = false
        return [.cancelPongTimer]
    }

    /// The pong timer fired: nothing came from the client since the ping. Closes with 1001
    /// `ping timeout` (``pingTimeoutClose``).
    mutating func pongTimedOut() -> [Action] {
        guard self.awaitingPong else { return [] }
        self.awaitingPong = false
        return self.close(code: Self.pingTimeoutClose.code, reason: Self.pingTimeoutClose.reason)
    }

    // MARK: - Events

    /// The outcome of an ``Action/startSubscription(id:filter:since:)``: the room's latest offset,
    /// read after the subscriber was registered, and (if `since` was set) the events after `since`
    /// read after that (0 and none for an every-readable-room subscription). Answers `subscribed`,
    /// then the replay, then any live events buffered meanwhile.
    mutating func subscriptionStarted(id: SubscriptionID, latestOffset: UInt64, history: [HubEvent]) -> [Action] {
        guard case .authenticated = self.phase,
              let (key, subscription) = self.subscriptions.first(where: { $0.value.id == id }),
              case .starting(let since, let buffer, let ref) = subscription.stage else {
            // Ended (or replaced) before it started: make sure nothing stays registered.
            return [.endSubscription(id: id)]
        }
        let eventTypes = subscription.filter.eventTypes.map { JSONValue.array($0.map(JSONValue.string)) } ?? .null
        var answer: JSONObject = ["type": "subscribed", "namespace": .string(subscription.namespace)]
        if let room = subscription.room {
            answer["room"] = .string(room)
            answer["event_types"] = eventTypes
            answer["latest_offset"] = .number(Double(latestOffset))
        } else {
            answer["room"] = .null
            answer["event_types"] = eventTypes
        }
        let cutoff = subscription.room == nil ? 0 : latestOffset
        self.subscriptions[key]!.stage = .live(cutoff: cutoff)
        var actions: [Action] = [.send(Self.withRef(.object(answer), ref))]
        if let since {
            for event in history where subscription.filter.matches(event) {
                guard HistoryHandover.isReplayed(event, since: since, latestOffset: cutoff) else { continue }
                actions.append(.replay(Self.eventMessage(event)))
            }
        }
        for event in buffer where Self.isLive(event, cutoff: cutoff) {
            actions += self.receive(event: event)
        }
        return actions
    }

    /// A live event for this connection (from one of its subscribers, on the connection's loop):
    /// sent once if any subscription wants it, buffered if only a starting subscription does.
    mutating func receive(event: HubEvent) -> [Action] {
        guard case .authenticated = self.phase else { return [] }
        var starting: Key?
        for (key, subscription) in self.subscriptions where subscription.filter.matches(event) {
            switch subscription.stage {
            case .live(let cutoff):
                if Self.isLive(event, cutoff: cutoff) {
                    return [.send(Self.eventMessage(event))]
                }
            case .starting:
                starting = starting ?? key
            }
        }
        if let starting, case .starting(let since, var buffer, let ref) = self.subscriptions[starting]!.stage {
            guard buffer.count < Self.maxEventsWhileStarting else {
                return self.close(code: .policyViolation, reason: "slow consumer")
            }
            buffer.append(event)
            self.subscriptions[starting]!.stage = .starting(since: since, buffer: buffer, ref: ref)
        }
        return []
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
    /// client's own close frame, a ping timeout, …).
    mutating func close(code: WebSocketErrorCode, reason: String) -> [Action] {
        let wasOpen = self.phase != .closed
        let actions = self.connectionClosed()
        return wasOpen ? actions + [.close(code: code, reason: reason)] : actions
    }

    /// The connection is gone (or going): ends every subscription and the timers; later inputs are
    /// ignored.
    mutating func connectionClosed() -> [Action] {
        let wasAwaitingAuth = self.phase == .awaitingAuth
        self.phase = .closed
        var actions: [Action] = wasAwaitingAuth ? [.cancelAuthTimer] : []
        if self.awaitingPong {
            self.awaitingPong = false
            actions.append(.cancelPongTimer)
        }
        actions += self.subscriptions.values.map(\.id).sorted().map { Action.endSubscription(id: $0) }
        self.subscriptions.removeAll()
        return actions
    }

    // MARK: - Messages

    /// `{"type":"event","event":{…}}`.
    static func eventMessage(_ event: HubEvent) -> JSONValue {
        ["type": "event", "event": event.json]
    }

    /// `{"type":"error","message":…}`, with `reason`, `namespace`, `room` and `ref` when given.
    static func error(_ message: String, reason: String? = nil, namespace: String? = nil, room: String? = nil,
                      ref: JSONValue? = nil) -> JSONValue {
        var object: JSONObject = ["type": "error", "message": .string(message)]
        if let reason { object["reason"] = .string(reason) }
        if let namespace { object["namespace"] = .string(namespace) }
        if let room { object["room"] = .string(room) }
        if let ref { object["ref"] = ref }
        return .object(object)
    }

    /// `message` with the client's `ref` as its last member (unchanged without one).
    static func withRef(_ message: JSONValue, _ ref: JSONValue?) -> JSONValue {
        guard let ref, case .object(var object) = message else { return message }
        object["ref"] = ref
        return .object(object)
    }
}

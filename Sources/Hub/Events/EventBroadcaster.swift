import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SocketIO

/// Routes hub events into rooms: stores each in its room's history, emits it to the room's Socket.IO
/// members as event `type` with arguments `(data, meta)`, and hands it to matching /stream
/// subscribers. Every publisher — sockets, the HTTP API, embedders — goes through here.
public final class EventBroadcaster: Sendable {
    /// What a publish did.
    public struct PublishResult: Sendable {
        /// The events created, one per target room (one for a namespace-wide publish).
        public var events: [HubEvent]
        /// Deliveries made: sockets and stream subscribers reached.
        public var delivered: Int
    }

    /// Why a publish was refused.
    public enum PublishError: Error, Hashable, Sendable {
        /// Not one of the hub's namespaces (publishing there would create an unprotected one).
        case unknownNamespace(String)
    }

    /// The severity of an alert.
    public enum AlertLevel: String, Sendable, CaseIterable {
        case info, warning, error, critical
    }

    private let io: SocketIOServer
    private let eventLoop: EventLoop
    private let history: EventHistory
    private let stats: HubStats
    private let rules: EventRules
    private let subscriptions = NIOLockedValueBox<[ObjectIdentifier: (filter: EventFilter, subscriber: any EventSubscriber)]>([:])

    /// With Redis: the other nodes, for /stream subscribers there.
    private let cluster: HubCluster?
    /// The end of the last dispatch, when history is in Redis: each publish is dispatched after the
    /// previous one, so events are delivered in publish order although storing takes a round trip.
    private let dispatchTail = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)

    init(io: SocketIOServer, eventLoop: EventLoop, history: EventHistory, stats: HubStats, rules: EventRules = EventRules(),
         cluster: HubCluster? = nil) {
        self.io = io
        self.eventLoop = eventLoop
        self.history = history
        self.stats = stats
        self.rules = rules
        self.cluster = cluster
    }

    /// Publishes `data` as event `type` to each of `rooms` in `namespace` (to the whole namespace if
    /// `rooms` is empty). A socket in several of the rooms receives the event once. `exceptSocket`
    /// skips one socket (the sender of a typing indicator). Storing and dispatching happen before
    /// this returns, so events are delivered in the order they were published; the future reports
    /// the deliveries. With Redis (``HubCluster``), storing takes a round trip: the events are
    /// dispatched when it is done, still in publish order, and also reach the /stream subscribers
    /// of the other nodes.
    @discardableResult
    public func publish(type: String, data: JSONValue, namespace: String, rooms: [String], source: String,
                        exceptSocket: String? = nil) -> EventLoopFuture<PublishResult> {
        guard ChannelPolicy.namespaces.contains(namespace) else {
            return self.eventLoop.makeFailedFuture(PublishError.unknownNamespace(namespace))
        }
        var planned: [(event: HubEvent, stored: Bool, selection: BroadcastOperator)] = []
        var reached: [String] = []
        let targets: [String?] = rooms.isEmpty ? [nil] : Self.unique(rooms).map { Optional($0) }
        for room in targets {
            let event = HubEvent(type: type, namespace: namespace, room: room, data: data, source: source)
            var selection = room.map { self.io.of(namespace).to($0) } ?? self.io.of(namespace).broadcast
            selection = selection.except(reached)
            if let exceptSocket {
                selection = selection.except(exceptSocket)
            }
            if let room {
                reached.append(room)
            }
            planned.append((event, room != nil && !self.rules.isEphemeral(type), selection))
        }
        guard let cluster = self.cluster else {
            let events = planned.map { item in
                guard item.stored else { return item.event }
                // Presence does not create a history: a room nobody published to keeps none.
                if EventRules.presenceEvents.contains(ExactName(item.event.type)) {
                    return self.history.appendIfKept(item.event) ?? item.event
                }
                return self.history.append(item.event)
            }
            return self.dispatch(events, selections: planned.map(\.selection))
        }
        return self.publishShared(planned, history: cluster.history)
    }

    /// Stores the events in the Redis history (the adds are pipelined in publish order), then
    /// dispatches them after the previous publish's dispatch. An event Redis could not store (an
    /// outage) is still delivered, without an offset.
    private func publishShared(_ planned: [(event: HubEvent, stored: Bool, selection: BroadcastOperator)],
                               history: RedisEventHistory) -> EventLoopFuture<PublishResult> {
        let eventLoop = self.eventLoop
        let stored: [EventLoopFuture<HubEvent>] = planned.map { item in
            guard item.stored else { return eventLoop.makeSucceededFuture(item.event) }
            return history.append(item.event).recover { _ in item.event }
        }
        let selections = planned.map(\.selection)
        return self.dispatchTail.withLockedValue { tail in
            let previous = tail ?? eventLoop.makeSucceededVoidFuture()
            let result = previous.flatMap {
                EventLoopFuture.whenAllSucceed(stored, on: eventLoop)
            }.flatMap { events in
                self.dispatch(events, selections: selections)
            }
            tail = result.map { _ in }.recover { _ in }
            return result
        }
    }

    /// Emits each event to its selection, hands it to /stream subscribers here and, with Redis, to
    /// the other nodes'.
    private func dispatch(_ events: [HubEvent], selections: [BroadcastOperator]) -> EventLoopFuture<PublishResult> {
        var counts: [EventLoopFuture<Int>] = []
        var streamDeliveries = 0
        for (event, selection) in zip(events, selections) {
            counts.append(selection.emitCounting(event.type, arguments: [event.data, event.meta]))
            streamDeliveries += self.notifySubscribers(of: event)
            self.cluster?.relay(event)
        }
        let stats = self.stats
        let streamCount = streamDeliveries
        return EventLoopFuture.whenAllSucceed(counts, on: self.eventLoop).map { socketCounts in
            let delivered = socketCounts.reduce(streamCount, +)
            stats.record(received: events.count, sent: delivered)
            return PublishResult(events: events, delivered: delivered)
        }
    }

    /// An event another node routed: handed to this node's matching /stream subscribers (its
    /// Socket.IO clients got it through the adapter).
    func deliverRemote(_ event: HubEvent) {
        let delivered = self.notifySubscribers(of: event)
        self.stats.record(received: 0, sent: delivered)
    }

    /// ``publish(type:data:namespace:rooms:source:exceptSocket:)``, awaiting the delivery count.
    /// - Throws: ``PublishError``.
    @discardableResult
    public func publish(type: String, data: JSONValue, namespace: String, rooms: [String], source: String,
                        exceptSocket: String? = nil) async throws -> PublishResult {
        let future: EventLoopFuture<PublishResult> = self.publish(type: type, data: data, namespace: namespace, rooms: rooms,
                                                                  source: source, exceptSocket: exceptSocket)
        return try await future.get()
    }

    private static func unique(_ rooms: [String]) -> [String] {
        var seen = Set<String>()
        return rooms.filter { seen.insert($0).inserted }
    }

    // MARK: Swift API for embedders

    /// Publishes a `chat_message` into a /chat room: `{"room","message","user", …extra}`.
    @discardableResult
    public func chatMessage(room: String, message: String, user: String, extra: JSONObject = JSONObject(),
                            namespace: String = "/chat") async throws -> PublishResult {
        var data = extra
        data["room"] = .string(room)
        data["message"] = .string(message)
        data["user"] = .string(user)
        return try await self.publish(type: "chat_message", data: .object(data), namespace: namespace, rooms: [room], source: "hub")
    }

    /// Publishes an agent or task event (`agent_started`, `tool_call_completed`, `task_failed`, …)
    /// into a /monitoring room.
    @discardableResult
    public func agentActivity(_ type: String, room: String, data: JSONObject, namespace: String = "/monitoring") async throws -> PublishResult {
        precondition(EventCatalogue.category(of: type) == .agent || EventCatalogue.category(of: type) == .task,
                     "\(type) is not an agent or task event")
        return try await self.publish(type: type, data: .object(data), namespace: namespace, rooms: [room], source: "hub")
    }

    /// Publishes `alert_created` `{"level","message","source", …}` to the monitoring and admin
    /// channels: the whole /monitoring and /admin namespaces, and the `monitoring` and `admin` rooms
    /// of `/` (for frontends that join rooms in the default namespace).
    @discardableResult
    public func alert(level: AlertLevel, message: String, source: String, extra: JSONObject = JSONObject(),
                      publisher: String = "hub") async throws -> PublishResult {
        var data = extra
        data["level"] = .string(level.rawValue)
        data["message"] = .string(message)
        data["source"] = .string(source)
        let payload = JSONValue.object(data)
        var results: [PublishResult] = []
        results.append(try await self.publish(type: "alert_created", data: payload, namespace: "/monitoring", rooms: [], source: publisher))
        results.append(try await self.publish(type: "alert_created", data: payload, namespace: "/admin", rooms: [], source: publisher))
        results.append(try await self.publish(type: "alert_created", data: payload, namespace: "/", rooms: ["monitoring", "admin"], source: publisher))
        return PublishResult(events: results.flatMap(\.events), delivered: results.reduce(0) { $0 + $1.delivered })
    }

    // MARK: Subscriptions (the /stream gateway)

    /// Delivers matching events to `subscriber` until ``unsubscribe(_:)``; one subscription per
    /// subscriber object (a new one replaces the old).
    public func subscribe(_ subscriber: any EventSubscriber, filter: EventFilter) {
        self.subscriptions.withLockedValue { $0[ObjectIdentifier(subscriber)] = (filter, subscriber) }
    }

    /// Ends `subscriber`'s subscription.
    public func unsubscribe(_ subscriber: any EventSubscriber) {
        self.subscriptions.withLockedValue { _ = $0.removeValue(forKey: ObjectIdentifier(subscriber)) }
    }

    private func notifySubscribers(of event: HubEvent) -> Int {
        let matching = self.subscriptions.withLockedValue { subscriptions in
            subscriptions.values.filter { entry in
                entry.filter.namespace == event.namespace && entry.filter.room == event.room
                    && (entry.filter.types?.contains(event.type) ?? true)
            }.map(\.subscriber)
        }
        for subscriber in matching {
            subscriber.receive(event)
        }
        return matching.count
    }
}

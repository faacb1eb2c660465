import EngineIO
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RedisClient
import SocketIO

/// The ``Adapter`` of one namespace in a cluster of Socket.IO servers sharing one Redis (made by a
/// ``RedisAdapterNode``).
///
/// ## Design: one Redis stream for delivery and replay
/// Every broadcast is appended once, unencoded (packet in socket.io's wire text + options + origin
/// node), to one Redis stream with `XADD MAXLEN ~`; every node, the sender included, reads the
/// stream with `XREAD BLOCK` and delivers to its own sockets through an ``InMemoryAdapter``: encoded
/// once per node, one hop per event loop. socket.io's
/// `@socket.io/redis-streams-adapter` made the same choice, for the same reasons:
/// - the stream entry id is the connection-state-recovery offset: it is assigned by Redis, so it
///   means the same on every node, and every node sees the broadcasts in the same order. A client
///   whose node went away reconnects to any other node with its offset, and that node replays from
///   its mirror of the stream. With pub/sub for delivery plus a stream for replay, offsets would be
///   assigned before the stream orders them, and the two paths could disagree on order.
/// - a node that lost its connection briefly resumes reading at the last id it saw: nothing is
///   lost within the stream's length (pub/sub drops what is sent while a subscriber is away).
/// - sessions (on disconnect) and socketsJoin/socketsLeave/disconnectSockets travel in the same
///   stream, so they are ordered with the broadcasts around them.
/// The cost: a broadcast reaches even local sockets after one Redis round trip (not queued before
/// ``broadcast(_:options:)`` returns, as with ``InMemoryAdapter``).
///
/// Cluster requests that need answers (``socketIDs(options:)``) use pub/sub: a request channel all
/// nodes subscribe to, a response channel per node uid; `PUBSUB NUMSUB` tells how many answers to
/// wait for, ``RedisAdapterNode/Configuration/requestTimeout`` how long.
///
/// ## When Redis is away
/// Broadcasts and socketsJoin/Leave/disconnectSockets are delivered to this node's sockets at once
/// (without a recovery offset), counted in ``RedisAdapterMetrics/Snapshot/localOnlyDeliveries``;
/// the outage is logged and counted; cross-node delivery resumes when Redis is back. A broadcast
/// whose `XADD` failed mid-flight (connection lost after it was sent) may reach local sockets twice.
///
/// ## Recovery limits
/// A session is recorded in the stream eagerly: when its socket connects and when its rooms change
/// (at most once per event-loop tick per socket), with ``Socket/userInfo``, and again when it
/// disconnects (transport close, ping timeout, server shutdown…). So a client whose node crashed
/// (SIGKILL, power loss) recovers on another node from its socket's last "connected" record, which
/// expires `maxDisconnectionDuration` after its node's last entry (nodes send heartbeats). A
/// reconnect that presents the `pid` of a socket still connected elsewhere takes it over (the
/// in-process rule of `closeStaleSocket`): the restoring node announces it and the old node closes
/// that socket's connection ("transport close", no session kept), so one id has one live socket.
/// The announcement names the stream entry the restoring node had read: it covers the records and
/// sockets up to it only, so a late one never closes a newer connection of the same client (it
/// came back to the old node since); and another node's session entry read while one of this
/// node's own about the same session is still on its way is older, and ignored (``SessionEntryOrder``).
/// ``Socket/userInfo`` crosses nodes through ``RedisAdapterNode/Configuration/userInfoCodec``.
/// Broadcasts sent while Redis was away have no offset and are not replayed. A node that has not
/// read a session's latest record yet (its client reconnected there within milliseconds, on a
/// loaded machine) does not know it: the client connects as new.
///
/// ## Exactly once, in order
/// A restore on an event loop replays the missed entries up to how far the stream was delivered on
/// that loop; later ones reach the socket live. Each batch read from the stream is one task per
/// loop that delivers and notes how far it went (``DeliveryProgress``), so no restore falls between
/// the two. A client ahead of the loop (it read its offset on a loop or node that got there
/// first, up to ``RedisAdapterNode/Configuration/requestTimeout`` ahead of this node's reader) gets
/// no replay, and the live deliveries up to its offset skip its socket.
///
/// ``broadcastCounting(_:options:)`` counts this node's sockets only; ``roomSizes()`` is this
/// node's too.
public final class RedisAdapter: Adapter, @unchecked Sendable {
    /// Runs for a ``serverSideEmit(_:_:)`` from another node (on a Redis connection's loop).
    public typealias ServerSideEmitHandler = @Sendable (_ event: String, _ arguments: [JSONValue]) -> Void

    /// The namespace served.
    public let namespace: String
    let node: RedisAdapterNode
    private let loops: [EventLoop]
    private let states: [ObjectIdentifier: LoopState]
    /// This node's sockets, for delivery (encode once, hop once per loop).
    private let delivery: InMemoryAdapter
    private let log: NIOLockedValueBox<ClusterRecoveryLog>?
    private let ownSessions = NIOLockedValueBox<[String: PersistedSession]>([:])
    /// Private ids of this node's sockets whose sessions another node took over: closing them keeps
    /// and announces nothing.
    private let takenOver = NIOLockedValueBox<Set<String>>([])
    /// This node's session entries not yet read back, against which other nodes' are ordered.
    private let sessionOrder: NIOLockedValueBox<SessionEntryOrder>
    /// The stream entry of the latest "connected" record of each of this node's sockets (by private
    /// id), read back: a takeover closes a socket only if the restoring node had read its record.
    private let recordEntries = NIOLockedValueBox<[String: StreamID]>([:])
    private let tokens = NIOLockedValueBox<[String: EventLoopPromise<Int>]>([:])
    private let serverSideHandlers = NIOLockedValueBox<[ServerSideEmitHandler]>([])
    private let allocator = ByteBufferAllocator()

    /// The sockets of one event loop, as the delivery adapter has them (for selection, counting and
    /// socketsJoin in stream order), and how far the stream was delivered there. Touched on its loop only.
    final class LoopState {
        var sockets: [String: Socket] = [:]
        var rooms: [String: Set<String>] = [:]
        /// How far the stream was delivered on this loop (a restore replays up to it, later entries
        /// reach the restored socket live), and the restored sockets that skip what they already have.
        var progress = DeliveryProgress()
        /// Private ids whose restore is under way on this loop (snapshotted, not taken yet).
        var restoring: Set<String> = []
        /// Sockets whose session record is due (connected, rooms changed), by id; flushed once per tick.
        var dirty: [String: Socket] = [:]
        var flushScheduled = false
        /// Private ids whose session was just persisted by their disconnect (``remove(_:)`` follows).
        var persisted: Set<String> = []

        /// The ids of the sockets `options` select, once each.
        func select(_ options: BroadcastOptions) -> [String] {
            var excluded = Set<String>()
            for room in options.except { excluded.formUnion(self.rooms[room] ?? []) }
            if options.rooms.isEmpty {
                return self.sockets.keys.filter { !excluded.contains($0) }
            }
            var seen = Set<String>()
            for room in options.rooms {
                for id in self.rooms[room] ?? [] where !excluded.contains(id) { seen.insert(id) }
            }
            return Array(seen)
        }
    }

    init(node: RedisAdapterNode, namespace: String, group: EventLoopGroup, recovery: ConnectionStateRecovery?) {
        self.node = node
        self.namespace = namespace
        self.loops = Array(group.makeIterator())
        var states: [ObjectIdentifier: LoopState] = [:]
        for loop in self.loops { states[ObjectIdentifier(loop)] = LoopState() }
        self.states = states
        self.delivery = InMemoryAdapter(group: group)
        self.sessionOrder = NIOLockedValueBox(SessionEntryOrder(expiry: node.configuration.requestTimeout))
        let now = UInt64(max(Date().timeIntervalSince1970 * 1000, 0))
        self.log = recovery.map { NIOLockedValueBox(ClusterRecoveryLog(configuration: $0, start: StreamID(milliseconds: now, sequence: 0))) }
    }

    private func state(_ loop: EventLoop) -> LoopState {
        loop.preconditionInEventLoop()
        return self.states[ObjectIdentifier(loop)]!
    }

    private var currentState: LoopState? {
        self.loops.first(where: \.inEventLoop).map { self.states[ObjectIdentifier($0)]! }
    }

    /// The node started reading the stream after `start`.
    func startReading(after start: StreamID) {
        self.log?.withLockedValue { $0 = ClusterRecoveryLog(configuration: $0.configuration, start: start) }
    }

    // MARK: Membership

    public func add(_ socket: Socket) {
        let state = self.state(socket.eventLoop)
        state.sockets[socket.id] = socket
        state.rooms[socket.id, default: []].insert(socket.id)
        self.delivery.add(socket)
        self.recordLater(socket, state)
    }

    public func join(_ socket: Socket, room: String) {
        let state = self.state(socket.eventLoop)
        state.rooms[room, default: []].insert(socket.id)
        self.delivery.join(socket, room: room)
        self.recordLater(socket, state)
    }

    public func leave(_ socket: Socket, room: String) {
        let state = self.state(socket.eventLoop)
        state.rooms[room]?.remove(socket.id)
        if state.rooms[room]?.isEmpty == true { state.rooms.removeValue(forKey: room) }
        self.delivery.leave(socket, room: room)
        self.recordLater(socket, state)
    }

    public func remove(_ socket: Socket) {
        let state = self.state(socket.eventLoop)
        for room in socket.rooms.union([socket.id]) {
            state.rooms[room]?.remove(socket.id)
            if state.rooms[room]?.isEmpty == true { state.rooms.removeValue(forKey: room) }
        }
        state.sockets.removeValue(forKey: socket.id)
        self.delivery.remove(socket)
        state.dirty.removeValue(forKey: socket.id)
        guard self.log != nil, let pid = socket.privateID else { return }
        self.recordEntries.withLockedValue { _ = $0.removeValue(forKey: pid) }
        let persisted = state.persisted.remove(pid) != nil
        let takenOver = self.takenOver.withLockedValue { $0.remove(pid) != nil }
        if !persisted, !takenOver, self.node.isConnected {
            // Disconnected for good: the cluster forgets its "connected" record.
            self.publishSession(.sessionEnded(privateID: pid), privateID: pid)
        }
    }

    /// Schedules a "connected" session record for `socket` at the end of this tick (one per socket
    /// and tick, whatever changed meanwhile).
    private func recordLater(_ socket: Socket, _ state: LoopState) {
        guard self.log != nil, socket.privateID != nil else { return }
        state.dirty[socket.id] = socket
        guard !state.flushScheduled else { return }
        state.flushScheduled = true
        socket.eventLoop.execute { self.flushRecords(state) }
    }

    private func flushRecords(_ state: LoopState) {
        state.flushScheduled = false
        let sockets = state.dirty.values
        state.dirty.removeAll()
        guard self.node.isConnected else { return }
        let now = NIODeadline.now()
        for socket in sockets where socket.connected {
            guard let pid = socket.privateID else { continue }
            let session = PersistedSession(socketID: socket.id, privateID: pid, rooms: socket.rooms, userInfo: socket.userInfo,
                                           disconnectedAt: now)
            self.publishSession(.sessionPersisted(self.encodeSession(session, connected: true)), privateID: pid)
        }
    }

    // MARK: Broadcast

    public func broadcast(_ packet: SocketPacket, options: BroadcastOptions) {
        guard self.shouldPublish(options) else {
            self.deliverLocally(packet, options: options)
            return
        }
        self.node.publish(ClusterMessage(origin: self.node.uid, namespace: self.namespace, body: .broadcast(packet, options, token: nil)))
            .whenFailure { _ in self.fallBack { self.deliverLocally(packet, options: options) } }
    }

    public func broadcastCounting(_ packet: SocketPacket, options: BroadcastOptions) -> EventLoopFuture<Int> {
        guard self.shouldPublish(options) else {
            return self.deliverLocallyCounting(packet, options: options)
        }
        let (token, counted) = self.register()
        self.node.publish(ClusterMessage(origin: self.node.uid, namespace: self.namespace, body: .broadcast(packet, options, token: token)))
            .whenFailure { _ in
                guard let promise = self.tokens.withLockedValue({ $0.removeValue(forKey: token) }) else { return }
                self.fallBack { promise.completeWith(self.deliverLocallyCounting(packet, options: options)) }
            }
        return counted
    }

    /// Whether to go through Redis (not for `local`, not while Redis is away).
    private func shouldPublish(_ options: BroadcastOptions) -> Bool {
        guard !options.local else { return false }
        guard self.node.isConnected else {
            self.node.metrics.update { $0.localOnlyDeliveries += 1 }
            return false
        }
        return true
    }

    private func fallBack(_ body: () -> Void) {
        self.node.metrics.update { $0.localOnlyDeliveries += 1 }
        body()
    }

    /// A token for a message whose read-back completes the returned future (with this node's
    /// count). If this node has not read it back within ``RedisAdapterNode/Configuration/requestTimeout``
    /// (its reader is reconnecting, say), the future fails with ``RedisAdapterError/timeout(received:expected:)``;
    /// delivery may still happen later.
    private func register() -> (String, EventLoopFuture<Int>) {
        let token = RedisAdapterNode.randomID()
        let promise = self.loops[0].makePromise(of: Int.self)
        self.tokens.withLockedValue { $0[token] = promise }
        self.loops[0].scheduleTask(in: self.node.configuration.requestTimeout) {
            guard let promise = self.tokens.withLockedValue({ $0.removeValue(forKey: token) }) else { return }
            self.node.metrics.update { $0.requestTimeouts += 1 }
            promise.fail(RedisAdapterError.timeout(received: 0, expected: 1))
        }
        return (token, promise.futureResult)
    }

    private func deliverLocally(_ packet: SocketPacket, options: BroadcastOptions) {
        self.delivery.broadcast(packet, options: options)
    }

    private func deliverLocallyCounting(_ packet: SocketPacket, options: BroadcastOptions) -> EventLoopFuture<Int> {
        self.delivery.broadcastCounting(packet, options: options)
    }

    // MARK: Reading (called by the node, on the reader's loop)

    /// What a batch asks of each loop, in stream order.
    enum LoopWork {
        /// Encoded once, delivered on every loop; `id` is its stream entry.
        case broadcast(PreparedPackets, BroadcastOptions, id: StreamID, token: String?)
        case add(BroadcastOptions, Set<String>, token: String?)
        case delete(BroadcastOptions, Set<String>, token: String?)
        case disconnect(BroadcastOptions, close: Bool, token: String?)
    }

    func receive(_ batch: [(StreamID, ClusterMessage)]) {
        guard let last = batch.last?.0 else { return }
        var work: [LoopWork] = []
        let mine = self.node.uid
        let now = NIODeadline.now()
        for (id, message) in batch {
            let own = message.origin == mine
            self.log?.withLockedValue { $0.noteAlive(origin: message.origin, now: now) }
            switch message.body {
            case .broadcast(var packet, let options, let token):
                if let log = self.log, packet.type == .event, packet.id == nil, !options.volatile, case .array(var arguments)? = packet.data {
                    arguments.append(.string(id.description))
                    packet.data = .array(arguments)
                    let logged = packet
                    log.withLockedValue { $0.record(id: id, options: options, packet: logged, now: now) }
                }
                work.append(.broadcast(self.delivery.prepare(packet), options, id: id, token: own ? token : nil))
            case .sessionPersisted(let json):
                guard let log = self.log, let pid = json["pid"]?.stringValue else { break }
                guard self.applies(privateID: pid, own: own, now: now) else { break }
                if json["c"]?.boolValue == true {
                    // A connected socket's record: this node knows its own sockets (a reconnect here
                    // takes a local socket over in process), and notes where the record is.
                    if own {
                        self.recordEntries.withLockedValue { entries in
                            if entries.count >= 100_000 { entries.removeAll() }  // records read back after their socket left
                            entries[pid] = id
                        }
                    } else if let session = self.decodeSession(json, now: now) {
                        log.withLockedValue { $0.persist(session, origin: message.origin, connected: true, entry: id) }
                    }
                    break
                }
                let original = own ? self.ownSessions.withLockedValue { $0.removeValue(forKey: pid) } : nil
                if let session = original ?? self.decodeSession(json, now: now) {
                    log.withLockedValue { $0.persist(session, origin: message.origin, entry: id) }
                }
            case .sessionTaken(let privateID, let seen):
                if self.applies(privateID: privateID, own: own, now: now), !own {
                    _ = self.log?.withLockedValue { $0.take(privateID: privateID, seen: seen) }
                    self.closeTakenOver(privateID: privateID, seen: seen)
                }
            case .sessionEnded(let privateID):
                if self.applies(privateID: privateID, own: own, now: now), !own { _ = self.log?.withLockedValue { $0.take(privateID: privateID) } }
            case .heartbeat:
                break
            case .addSockets(let options, let rooms, let token):
                work.append(.add(options, rooms, token: own ? token : nil))
            case .delSockets(let options, let rooms, let token):
                work.append(.delete(options, rooms, token: own ? token : nil))
            case .disconnectSockets(let options, let close, let token):
                work.append(.disconnect(options, close: close, token: own ? token : nil))
            case .serverSideEmit(let event, let arguments):
                if !own {
                    for handler in self.serverSideHandlers.withLockedValue({ $0 }) { handler(event, arguments) }
                }
            }
        }
        self.log?.withLockedValue { $0.advance(to: last) }
        guard !work.isEmpty else { return }
        // One task per loop for the whole batch (inline on the reader's own loop), in stream order:
        // the deliveries, socketsJoin/Leave/disconnect, and the note of how far they went. A restore
        // on a loop replays up to that note, so it must never fall between a delivery and its note.
        let counted = work.contains { $0.token != nil }
        var counts: [EventLoopFuture<[String: Int]>] = []
        for loop in self.loops {
            if loop.inEventLoop {
                let part = self.run(work, through: last, on: loop, hopped: false)
                if counted { counts.append(loop.makeSucceededFuture(part)) }
            } else if counted {
                counts.append(loop.submit { self.run(work, through: last, on: loop, hopped: true) })
            } else {
                loop.execute { _ = self.run(work, through: last, on: loop, hopped: true) }
            }
        }
        guard counted else { return }
        EventLoopFuture.whenAllSucceed(counts, on: self.loops[0]).whenSuccess { parts in
            var total: [String: Int] = [:]
            for part in parts { total.merge(part, uniquingKeysWith: +) }
            for (token, count) in total {
                self.tokens.withLockedValue { $0.removeValue(forKey: token) }?.succeed(count)
            }
        }
    }

    /// Runs a batch's work on `loop` (the current one), then notes that the stream was delivered
    /// there through `last`; returns this loop's count per token. `hopped`: the packets were
    /// prepared on another loop (each loop writes a copy of its own).
    private func run(_ work: [LoopWork], through last: StreamID, on loop: EventLoop, hopped: Bool) -> [String: Int] {
        let state = self.state(loop)
        var counts: [String: Int] = [:]
        for item in work {
            switch item {
            case .broadcast(let packets, let options, let id, let token):
                let count = self.delivery.deliver(hopped ? packets.copy(allocator: self.allocator) : packets, options: options,
                                                  on: loop, skipping: state.progress.skipping(id))
                if let token { counts[token, default: 0] += count }
            default:
                for (token, count) in self.perform(item, on: state) { counts[token, default: 0] += count }
            }
        }
        state.progress.delivered(through: last)
        return counts
    }

    /// Applies a socketsJoin/Leave/disconnect item on one loop; returns the local count per token.
    private func perform(_ item: LoopWork, on state: LoopState) -> [String: Int] {
        let targets: [Socket]
        switch item {
        case .broadcast:
            return [:]
        case .add(let options, let rooms, _):
            targets = state.select(options).compactMap { state.sockets[$0] }
            for socket in targets { for room in rooms { socket.join(room) } }
        case .delete(let options, let rooms, _):
            targets = state.select(options).compactMap { state.sockets[$0] }
            for socket in targets { for room in rooms { socket.leave(room) } }
        case .disconnect(let options, let close, _):
            targets = state.select(options).compactMap { state.sockets[$0] }
            for socket in targets { socket.disconnect(close: close) }
        }
        return item.token.map { [$0: targets.count] } ?? [:]
    }

    // MARK: Recovery

    /// Nodes `origins` were heard from (any entry, heartbeats included).
    func noteAlive(_ origins: Set<String>, now: NIODeadline) {
        guard let log = self.log else { return }
        log.withLockedValue { log in
            for origin in origins { log.noteAlive(origin: origin, now: now) }
        }
    }

    /// Another node restored the session `privateID`, having read the stream up to `seen`: if its
    /// socket is still connected here (its client gave up on this connection), close that connection
    /// without keeping the session. Not a socket whose record that node had not read: the client
    /// came back here after that takeover.
    private func closeTakenOver(privateID: String, seen: StreamID?) {
        if let seen {
            guard let entry = self.recordEntries.withLockedValue({ $0[privateID] }), entry <= seen else { return }
        }
        _ = self.forEachSocket(options: BroadcastOptions()) { socket in
            guard socket.privateID == privateID, socket.connected else { return }
            self.takenOver.withLockedValue { _ = $0.insert(privateID) }
            socket.closeTransport()
        }
    }

    public func persistSession(_ session: PersistedSession) {
        guard let log = self.log else { return }
        // Called on the socket's loop by its disconnect, just before ``remove(_:)``.
        self.currentState?.persisted.insert(session.privateID)
        // Taken over by another node: the session lives on there.
        guard !self.takenOver.withLockedValue({ $0.contains(session.privateID) }) else { return }
        log.withLockedValue { $0.persist(session, origin: self.node.uid) }
        guard self.node.isConnected else { return }
        self.ownSessions.withLockedValue { $0[session.privateID] = session }
        self.publishSession(.sessionPersisted(self.encodeSession(session, connected: false)), privateID: session.privateID)
    }

    /// Restores on the calling socket's loop: the replay covers the entries after `offset` already
    /// delivered on that loop (``DeliveryProgress/deliveredThrough``), the newer ones reach the socket
    /// live, and those up to `offset` that this loop has yet to deliver (the client read them on a
    /// loop or node that got there first) skip it.
    public func restoreSession(privateID: String, offset: String) -> RestoredSession? {
        guard let log = self.log else { return nil }
        let state = self.currentState
        let through = state?.progress.deliveredThrough ?? log.withLockedValue { $0.lastID }
        let ahead = UInt64(max(self.node.configuration.requestTimeout.nanoseconds / 1_000_000, 0))
        guard let (kept, packets) = log.withLockedValue({ $0.restore(privateID: privateID, offset: offset, through: through, now: .now(),
                                                                     ahead: ahead, resuming: state?.restoring.contains(privateID) == true) }),
              !(kept.connected && kept.origin == self.node.uid) else {
            return nil
        }
        if let state {
            if state.restoring.count >= 64 { state.restoring.removeAll() }  // refused restores never taken
            state.restoring.insert(privateID)
            if let value = StreamID(offset) { state.progress.restore(socketID: kept.session.socketID, offset: value) }
        }
        return RestoredSession(session: kept.session, missedPackets: packets.map { SocketPacketEncoder.encode($0, allocator: self.allocator) },
                               replayedThrough: 0)
    }

    public func takeSession(privateID: String) -> Bool {
        guard let log = self.log else { return false }
        self.currentState?.restoring.remove(privateID)
        let (taken, seen) = log.withLockedValue { ($0.take(privateID: privateID), $0.lastID) }
        self.ownSessions.withLockedValue { _ = $0.removeValue(forKey: privateID) }
        if taken, self.node.isConnected {
            self.publishSession(.sessionTaken(privateID: privateID, seen: seen), privateID: privateID)
        }
        return taken
    }

    /// Appends an entry about the session `privateID` to the stream, noting it in flight until it is
    /// read back (``SessionEntryOrder``).
    private func publishSession(_ body: ClusterMessage.Body, privateID: String) {
        self.sessionOrder.withLockedValue { $0.published(privateID: privateID, now: .now()) }
        self.node.publish(ClusterMessage(origin: self.node.uid, namespace: self.namespace, body: body)).whenFailure { _ in
            self.sessionOrder.withLockedValue { $0.failed(privateID: privateID) }
        }
    }

    /// Whether a session entry about `privateID` read now is to be applied: an own entry if no newer
    /// own entry is in flight, another node's if no own entry is (either would be newer in the stream).
    private func applies(privateID: String, own: Bool, now: NIODeadline) -> Bool {
        self.sessionOrder.withLockedValue { order in
            own ? order.readBack(privateID: privateID) : !order.supersedes(privateID: privateID, now: now)
        }
    }

    private func encodeSession(_ session: PersistedSession, connected: Bool) -> JSONValue {
        let age = NIODeadline.now() - session.disconnectedAt
        let at = Date().timeIntervalSince1970 * 1000 - Double(age.nanoseconds) / 1_000_000
        var object = JSONObject()
        object["sid"] = .string(session.socketID)
        object["pid"] = .string(session.privateID)
        object["rooms"] = .array(session.rooms.sorted().map(JSONValue.string))
        object["user"] = self.node.configuration.userInfoCodec.encode(session.userInfo)
        object["at"] = .number(at.rounded())
        if connected { object["c"] = true }
        return .object(object)
    }

    private func decodeSession(_ json: JSONValue, now: NIODeadline) -> PersistedSession? {
        guard let sid = json["sid"]?.stringValue, let pid = json["pid"]?.stringValue, let rooms = json["rooms"]?.arrayValue,
              let at = json["at"]?.doubleValue else { return nil }
        let ageMilliseconds = max(Date().timeIntervalSince1970 * 1000 - at, 0)
        return PersistedSession(socketID: sid, privateID: pid, rooms: Set(rooms.compactMap(\.stringValue)),
                                userInfo: self.node.configuration.userInfoCodec.decode(json["user"] ?? .null),
                                disconnectedAt: now - .milliseconds(Int64(ageMilliseconds)))
    }

    // MARK: Sockets

    public func forEachSocket(options: BroadcastOptions, _ body: @escaping @Sendable (Socket) -> Void) -> EventLoopFuture<Void> {
        let futures = self.loops.map { loop in
            loop.submit {
                let state = self.state(loop)
                for socket in state.select(options).compactMap({ state.sockets[$0] }) { body(socket) }
            }
        }
        return EventLoopFuture.andAllSucceed(futures, on: self.loops[0])
    }

    /// The ids of this node's sockets the options select.
    func localSocketIDs(options: BroadcastOptions) -> EventLoopFuture<[String]> {
        let futures = self.loops.map { loop in loop.submit { self.state(loop).select(options) } }
        return EventLoopFuture.whenAllSucceed(futures, on: self.loops[0]).map { $0.flatMap { $0 } }
    }

    /// The ids of the selected sockets on every node (this one only with `local`, or while Redis is
    /// away). Fails with ``RedisAdapterError/timeout(received:expected:)`` if a node does not answer
    /// within ``RedisAdapterNode/Configuration/requestTimeout``.
    public func socketIDs(options: BroadcastOptions) -> EventLoopFuture<[String]> {
        let local = self.localSocketIDs(options: options)
        guard !options.local, self.node.isConnected else { return local }
        let remote = self.node.requestSocketIDs(namespace: self.namespace, options: options, timeout: self.node.configuration.requestTimeout)
            .flatMapError { error -> EventLoopFuture<[String]> in
                if error is RedisAdapterError { return self.loops[0].makeFailedFuture(error) }
                return self.loops[0].makeSucceededFuture([])
            }
        return local.and(remote).map { $0 + $1 }
    }

    public func roomSizes() -> EventLoopFuture<[String: Int]> {
        let futures = self.loops.map { loop in loop.submit { self.state(loop).rooms.mapValues(\.count) } }
        return EventLoopFuture.whenAllSucceed(futures, on: self.loops[0]).map { parts in
            parts.reduce(into: [:]) { total, part in total.merge(part, uniquingKeysWith: +) }
        }
    }

    public func addSockets(options: BroadcastOptions, rooms: Set<String>) -> EventLoopFuture<Void> {
        self.clusterOperation(options, .addSockets(options, rooms: rooms, token: nil)) { socket in
            for room in rooms { socket.join(room) }
        }
    }

    public func delSockets(options: BroadcastOptions, rooms: Set<String>) -> EventLoopFuture<Void> {
        self.clusterOperation(options, .delSockets(options, rooms: rooms, token: nil)) { socket in
            for room in rooms { socket.leave(room) }
        }
    }

    public func disconnectSockets(options: BroadcastOptions, close: Bool) -> EventLoopFuture<Void> {
        self.clusterOperation(options, .disconnectSockets(options, close: close, token: nil)) { $0.disconnect(close: close) }
    }

    /// Sends an operation through the stream (the future completes once this node applied it) or,
    /// for `local` or while Redis is away, applies it here.
    private func clusterOperation(_ options: BroadcastOptions, _ body: ClusterMessage.Body,
                                  local: @escaping @Sendable (Socket) -> Void) -> EventLoopFuture<Void> {
        guard self.shouldPublish(options) else { return self.forEachSocket(options: options, local) }
        let (token, applied) = self.register()
        let tokened: ClusterMessage.Body
        switch body {
        case .addSockets(let o, let r, _): tokened = .addSockets(o, rooms: r, token: token)
        case .delSockets(let o, let r, _): tokened = .delSockets(o, rooms: r, token: token)
        case .disconnectSockets(let o, let c, _): tokened = .disconnectSockets(o, close: c, token: token)
        default: tokened = body
        }
        self.node.publish(ClusterMessage(origin: self.node.uid, namespace: self.namespace, body: tokened)).whenFailure { _ in
            guard let promise = self.tokens.withLockedValue({ $0.removeValue(forKey: token) }) else { return }
            self.fallBack { promise.completeWith(self.forEachSocket(options: options, local).map { 0 }) }
        }
        return applied.map { _ in }
    }

    // MARK: Server-side emit

    /// Sends `event` to the other nodes' ``onServerSideEmit(_:)`` handlers (socket.io's
    /// `serverSideEmit`, without acknowledgements). Fails if Redis is away.
    @discardableResult
    public func serverSideEmit(_ event: String, _ arguments: [JSONValue]) -> EventLoopFuture<Void> {
        self.node.publish(ClusterMessage(origin: self.node.uid, namespace: self.namespace,
                                         body: .serverSideEmit(event: event, arguments: arguments))).map { _ in }
    }

    /// Calls `handler` for each ``serverSideEmit(_:_:)`` of another node.
    public func onServerSideEmit(_ handler: @escaping ServerSideEmitHandler) {
        self.serverSideHandlers.withLockedValue { $0.append(handler) }
    }
}

extension RedisAdapter.LoopWork {
    var token: String? {
        switch self {
        case .broadcast(_, _, _, let token), .add(_, _, let token), .delete(_, _, let token), .disconnect(_, _, let token): token
        }
    }
}

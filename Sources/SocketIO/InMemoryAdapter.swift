import EngineIO
import NIOConcurrencyHelpers
import NIOCore

/// The single-process ``Adapter``. Rooms are sharded by event loop: each loop keeps the rooms of
/// the sockets it owns, touched only on that loop, so joins and deliveries take no lock. A broadcast
/// hops once to each loop, never once per socket, and hands every target the same encoded bytes.
public final class InMemoryAdapter: Adapter, @unchecked Sendable {
    /// The rooms of the sockets that live on one event loop.
    final class Shard {
        /// Room name → sockets in it, by socket id.
        var rooms: [String: [String: Socket]] = [:]
        /// Every socket of the namespace on this loop, by id.
        var sockets: [String: Socket] = [:]
        /// Logged broadcasts (recovery on) waiting for this loop, in offset order: appended under the
        /// recovery lock from any thread, drained on the loop. Draining inline on the publisher's own
        /// loop keeps a handler's broadcast ahead of its later emits, and draining everything pending
        /// keeps offsets in order when publishers on several threads race.
        let pending = NIOLockedValueBox<[PendingBroadcast]>([])
    }

    /// A logged broadcast waiting for a loop.
    struct PendingBroadcast {
        var packets: PreparedPackets
        var options: BroadcastOptions
        var offset: UInt64
        var delivered: EventLoopPromise<Int>?
    }

    private let loops: [EventLoop]
    private let shards: [ObjectIdentifier: Shard]
    private let recovery: NIOLockedValueBox<SessionRecoveryStore>?
    private let allocator = ByteBufferAllocator()

    /// Creates an adapter with one shard per loop of `group`, keeping broadcasts and sessions for
    /// connection-state recovery if `recovery` is given.
    public init(group: EventLoopGroup, recovery: ConnectionStateRecovery? = nil) {
        self.recovery = recovery.map { NIOLockedValueBox(SessionRecoveryStore(configuration: $0)) }
        self.loops = Array(group.makeIterator())
        var shards: [ObjectIdentifier: Shard] = [:]
        for loop in self.loops {
            shards[ObjectIdentifier(loop)] = Shard()
        }
        self.shards = shards
    }

    private func shard(for loop: EventLoop) -> Shard {
        loop.preconditionInEventLoop()
        guard let shard = self.shards[ObjectIdentifier(loop)] else {
            preconditionFailure("socket on an event loop outside the adapter's group")
        }
        return shard
    }

    public func add(_ socket: Socket) {
        let shard = self.shard(for: socket.eventLoop)
        shard.sockets[socket.id] = socket
        shard.rooms[socket.id, default: [:]][socket.id] = socket
    }

    public func join(_ socket: Socket, room: String) {
        self.shard(for: socket.eventLoop).rooms[room, default: [:]][socket.id] = socket
    }

    public func leave(_ socket: Socket, room: String) {
        let shard = self.shard(for: socket.eventLoop)
        shard.rooms[room]?.removeValue(forKey: socket.id)
        if shard.rooms[room]?.isEmpty == true {
            shard.rooms.removeValue(forKey: room)
        }
    }

    public func remove(_ socket: Socket) {
        let shard = self.shard(for: socket.eventLoop)
        for room in socket.rooms {
            shard.rooms[room]?.removeValue(forKey: socket.id)
            if shard.rooms[room]?.isEmpty == true {
                shard.rooms.removeValue(forKey: room)
            }
        }
        shard.rooms[socket.id]?.removeValue(forKey: socket.id)
        if shard.rooms[socket.id]?.isEmpty == true {
            shard.rooms.removeValue(forKey: socket.id)
        }
        shard.sockets.removeValue(forKey: socket.id)
    }

    /// Encodes the packet once (and frames it once for WebSockets) and hands it to `schedule`, which queues the per-loop work. With
    /// recovery, a non-volatile event without ack first gets its offset appended and logged, and all
    /// of that happens under one lock, so every loop receives broadcasts in offset order.
    private func encode(_ packet: SocketPacket, options: BroadcastOptions,
                        _ schedule: (PreparedPackets, _ offset: UInt64?) -> Void) {
        guard let recovery = self.recovery, packet.type == .event, packet.id == nil, !options.volatile,
              case .array(var arguments)? = packet.data else {
            schedule(PreparedPackets(SocketPacketEncoder.encode(packet, allocator: self.allocator), allocator: self.allocator), nil)
            return
        }
        recovery.withLockedValue { store in
            let offset = store.nextOffset()
            arguments.append(.string(offset))
            var logged = packet
            logged.data = .array(arguments)
            let packets = SocketPacketEncoder.encode(logged, allocator: self.allocator)
            store.record(offset: offset, options: options, packets: packets, now: .now())
            schedule(PreparedPackets(packets, allocator: self.allocator), UInt64(offset))
        }
    }

    public func persistSession(_ session: PersistedSession) {
        self.recovery?.withLockedValue { $0.persist(session) }
    }

    public func restoreSession(privateID: String, offset: String) -> RestoredSession? {
        self.recovery?.withLockedValue { $0.restore(privateID: privateID, offset: offset, now: .now()) }
    }

    public func takeSession(privateID: String) -> Bool {
        self.recovery?.withLockedValue { $0.take(privateID: privateID) } ?? false
    }

    public func broadcast(_ packet: SocketPacket, options: BroadcastOptions) {
        var logged = false
        self.encode(packet, options: options) { packets, offset in
            guard let offset else {
                self.onEveryShard { shard, hopped in
                    let packets = hopped ? packets.copy(allocator: self.allocator) : packets
                    Self.forEachTarget(in: shard, options: options) { socket in
                        socket.deliver(packets, volatile: options.volatile)
                    }
                }
                return
            }
            logged = true
            for loop in self.loops {
                self.shards[ObjectIdentifier(loop)]!.pending.withLockedValue {
                    $0.append(PendingBroadcast(packets: packets, options: options, offset: offset, delivered: nil))
                }
            }
        }
        if logged {
            self.drainEveryShard()
        }
    }

    public func broadcastCounting(_ packet: SocketPacket, options: BroadcastOptions) -> EventLoopFuture<Int> {
        var futures: [EventLoopFuture<Int>] = []
        var logged = false
        self.encode(packet, options: options) { packets, offset in
            guard let offset else {
                futures = self.loops.map { loop in
                    let hopped = !loop.inEventLoop
                    return loop.submit {
                        let packets = hopped ? packets.copy(allocator: self.allocator) : packets
                        var count = 0
                        Self.forEachTarget(in: self.shard(for: loop), options: options) { socket in
                            socket.deliver(packets, volatile: options.volatile)
                            count += 1
                        }
                        return count
                    }
                }
                return
            }
            logged = true
            for loop in self.loops {
                let delivered = loop.makePromise(of: Int.self)
                futures.append(delivered.futureResult)
                self.shards[ObjectIdentifier(loop)]!.pending.withLockedValue {
                    $0.append(PendingBroadcast(packets: packets, options: options, offset: offset, delivered: delivered))
                }
            }
        }
        if logged {
            self.drainEveryShard()
        }
        return EventLoopFuture.whenAllSucceed(futures, on: self.loops[0]).map { $0.reduce(0, +) }
    }

    /// Delivers every loop's pending logged broadcasts: inline on the caller's loop, one hop for
    /// each other.
    private func drainEveryShard() {
        for loop in self.loops {
            if loop.inEventLoop {
                self.drain(loop)
            } else {
                loop.execute { self.drain(loop) }
            }
        }
    }

    private func drain(_ loop: EventLoop) {
        let shard = self.shard(for: loop)
        let items = shard.pending.withLockedValue { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        for item in items {
            var count = 0
            Self.forEachTarget(in: shard, options: item.options, offset: item.offset) { socket in
                socket.deliver(item.packets, volatile: false)
                count += 1
            }
            item.delivered?.succeed(count)
        }
    }

    // MARK: Delivery for cluster adapters

    /// Encodes `packet` once (and frames it once for WebSockets) for ``deliver(_:options:on:skipping:)``
    /// on each loop: a cluster adapter hands every loop a batch of broadcasts read elsewhere in one
    /// task, with its own bookkeeping in the same task.
    package func prepare(_ packet: SocketPacket) -> PreparedPackets {
        PreparedPackets(SocketPacketEncoder.encode(packet, allocator: self.allocator), allocator: self.allocator)
    }

    /// Hands `packets` to the sockets of `loop` (the current one) that `options` select, except the
    /// sockets whose ids are in `skipping`; returns how many got them. Packets prepared on another
    /// loop are copied first (``PreparedPackets/copy(allocator:)``), as ``broadcast(_:options:)`` does.
    package func deliver(_ packets: PreparedPackets, options: BroadcastOptions, on loop: EventLoop,
                         skipping: Set<String> = []) -> Int {
        var count = 0
        Self.forEachTarget(in: self.shard(for: loop), options: options, skipping: skipping) { socket in
            socket.deliver(packets, volatile: options.volatile)
            count += 1
        }
        return count
    }

    public func forEachSocket(options: BroadcastOptions, _ body: @escaping @Sendable (Socket) -> Void) -> EventLoopFuture<Void> {
        let futures = self.loops.map { loop in
            loop.submit {
                var targets: [Socket] = []
                Self.forEachTarget(in: self.shard(for: loop), options: options) { targets.append($0) }
                // Collected first: `body` may change rooms (socketsLeave) while we iterate.
                for socket in targets { body(socket) }
            }
        }
        return EventLoopFuture.andAllSucceed(futures, on: self.loops[0])
    }

    public func socketIDs(options: BroadcastOptions) -> EventLoopFuture<[String]> {
        let futures = self.loops.map { loop in
            loop.submit {
                var ids: [String] = []
                Self.forEachTarget(in: self.shard(for: loop), options: options) { ids.append($0.id) }
                return ids
            }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: self.loops[0]).map { $0.flatMap { $0 } }
    }

    public func roomSizes() -> EventLoopFuture<[String: Int]> {
        let futures = self.loops.map { loop in
            loop.submit { self.shard(for: loop).rooms.mapValues(\.count) }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: self.loops[0]).map { parts in
            parts.reduce(into: [:]) { total, part in total.merge(part, uniquingKeysWith: +) }
        }
    }

    /// Runs `body` with each loop's shard on that loop: inline for the caller's loop, one hop for
    /// each other (`hopped` tells which).
    private func onEveryShard(_ body: @escaping @Sendable (Shard, _ hopped: Bool) -> Void) {
        for loop in self.loops {
            if loop.inEventLoop {
                body(self.shard(for: loop), false)
            } else {
                loop.execute { body(self.shard(for: loop), true) }
            }
        }
    }

    /// Visits each socket of `shard` that `options` select, once. A logged broadcast (`offset`) skips
    /// sockets whose recovery replay already covered it; the sockets in `skipping` are skipped too.
    private static func forEachTarget(in shard: Shard, options: BroadcastOptions, offset: UInt64? = nil,
                                      skipping: Set<String> = [], _ visit: (Socket) -> Void) {
        var excludedIDs = Set<String>()
        for room in options.except {
            if let members = shard.rooms[room] { excludedIDs.formUnion(members.keys) }
        }
        func excluded(_ socket: Socket) -> Bool {
            if let offset, socket.replayedThrough >= offset { return true }
            if !skipping.isEmpty, skipping.contains(socket.id) { return true }
            return !excludedIDs.isEmpty && excludedIDs.contains(socket.id)
        }
        if options.rooms.isEmpty {
            for socket in shard.sockets.values where !excluded(socket) {
                visit(socket)
            }
        } else if options.rooms.count == 1, let members = shard.rooms[options.rooms.first!] {
            for socket in members.values where !excluded(socket) {
                visit(socket)
            }
        } else {
            var seen = Set<String>()
            for room in options.rooms {
                guard let members = shard.rooms[room] else { continue }
                for (id, socket) in members where !excluded(socket) && seen.insert(id).inserted {
                    visit(socket)
                }
            }
        }
    }
}

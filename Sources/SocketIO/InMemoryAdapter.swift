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

    /// Encodes the packet once; with recovery, appends and logs the offset first.
    private func encode(_ packet: SocketPacket, options: BroadcastOptions) -> [EncodedPacket] {
        guard let recovery = self.recovery, packet.type == .event, packet.id == nil, !options.volatile,
              case .array(var arguments)? = packet.data else {
            return SocketPacketEncoder.encode(packet, allocator: self.allocator)
        }
        return recovery.withLockedValue { store in
            let offset = store.nextOffset()
            arguments.append(.string(offset))
            var logged = packet
            logged.data = .array(arguments)
            let packets = SocketPacketEncoder.encode(logged, allocator: self.allocator)
            store.record(offset: offset, options: options, packets: packets, now: .now())
            return packets
        }
    }

    public func persistSession(_ session: PersistedSession) {
        self.recovery?.withLockedValue { $0.persist(session) }
    }

    public func restoreSession(privateID: String, offset: String) -> RestoredSession? {
        self.recovery?.withLockedValue { $0.restore(privateID: privateID, offset: offset, now: .now()) }
    }

    public func broadcast(_ packet: SocketPacket, options: BroadcastOptions) {
        let packets = self.encode(packet, options: options)
        self.onEveryShard { shard in
            Self.forEachTarget(in: shard, options: options) { socket in
                socket.deliver(packets, volatile: options.volatile)
            }
        }
    }

    public func broadcastCounting(_ packet: SocketPacket, options: BroadcastOptions) -> EventLoopFuture<Int> {
        let packets = self.encode(packet, options: options)
        let futures = self.loops.map { loop in
            loop.submit {
                var count = 0
                Self.forEachTarget(in: self.shard(for: loop), options: options) { socket in
                    socket.deliver(packets, volatile: options.volatile)
                    count += 1
                }
                return count
            }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: self.loops[0]).map { $0.reduce(0, +) }
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
    /// each other.
    private func onEveryShard(_ body: @escaping @Sendable (Shard) -> Void) {
        for loop in self.loops {
            if loop.inEventLoop {
                body(self.shard(for: loop))
            } else {
                loop.execute { body(self.shard(for: loop)) }
            }
        }
    }

    /// Visits each socket of `shard` that `options` select, once.
    private static func forEachTarget(in shard: Shard, options: BroadcastOptions, _ visit: (Socket) -> Void) {
        var excludedIDs = Set<String>()
        for room in options.except {
            if let members = shard.rooms[room] { excludedIDs.formUnion(members.keys) }
        }
        func excluded(_ socket: Socket) -> Bool {
            !excludedIDs.isEmpty && excludedIDs.contains(socket.id)
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

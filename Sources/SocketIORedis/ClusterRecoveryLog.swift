import NIOCore
import SocketIO

/// Each node's mirror of the cluster stream for connection-state recovery, as a value type (no
/// locking, no I/O): the logged broadcasts by stream id (the offset clients hold) and the sessions
/// every node persisted. Like ``SessionRecoveryStore``, but the offsets come from Redis, so they are
/// the same on every node.
///
/// A session is kept per private id, the latest record wins: a socket's node records it while it is
/// connected (at connect and when its rooms change: `connected`) and when it disconnects. A node that
/// crashes never records the disconnect; its sockets' last "connected" records let their clients
/// recover on another node. A "connected" record ages from its own time or from the newest entry
/// seen from its node (nodes send a heartbeat), whichever is later: it expires
/// `maxDisconnectionDuration` after its node went silent.
struct ClusterRecoveryLog: Sendable {
    /// A kept session record.
    struct Kept: Sendable {
        var session: PersistedSession
        /// The node that recorded it (`nil`: recorded by this adapter without a node id).
        var origin: String?
        /// Recorded while the socket was connected (no disconnect seen): `session.disconnectedAt` is
        /// the record's time.
        var connected: Bool
        /// The record's stream entry; `nil` for one this node kept before appending it.
        var entry: StreamID?
    }

    struct Logged: Sendable {
        var id: StreamID
        var options: BroadcastOptions
        /// The packet with its offset already appended.
        var packet: SocketPacket
        var loggedAt: NIODeadline
    }

    let configuration: ConnectionStateRecovery
    private var log: [Logged] = []
    private var logStart = 0
    private var sessions: [String: Kept] = [:]
    /// Records just forgotten for another node's takeover: a restore of the same record that was
    /// under way here (its snapshot taken, its take not yet) still gets it. Cleared as they go.
    private var takenAway: [String: Kept] = [:]
    /// When an entry from each node was last read (bounded: silent nodes are dropped by ``compact(now:)``).
    private var lastSeen: [String: NIODeadline] = [:]
    /// The newest id read from the stream.
    private(set) var lastID: StreamID
    /// The newest id dropped from the log, or the id reading started after: a client whose offset
    /// is older may have missed something this node never saw, and is not recovered.
    private(set) var droppedThrough: StreamID

    /// An empty log that starts reading after `start`.
    init(configuration: ConnectionStateRecovery, start: StreamID) {
        self.configuration = configuration
        self.lastID = start
        self.droppedThrough = start
    }

    var loggedCount: Int { self.log.count - self.logStart }
    var sessionCount: Int { self.sessions.count }

    /// Notes that the stream reached `id` (any entry kind).
    mutating func advance(to id: StreamID) {
        if id > self.lastID { self.lastID = id }
    }

    /// Logs a broadcast read under `id`.
    mutating func record(id: StreamID, options: BroadcastOptions, packet: SocketPacket, now: NIODeadline) {
        self.advance(to: id)
        self.log.append(Logged(id: id, options: options, packet: packet, loggedAt: now))
        if self.loggedCount > self.configuration.maxPackets {
            self.droppedThrough = self.log[self.logStart].id
            self.logStart += 1
        }
        self.compact(now: now)
    }

    /// Keeps a session record (from any node): disconnected, or still `connected` on `origin`.
    mutating func persist(_ session: PersistedSession, origin: String? = nil, connected: Bool = false, entry: StreamID? = nil) {
        if self.sessions.count >= self.configuration.maxSessions, self.sessions[session.privateID] == nil,
           let oldest = self.sessions.min(by: { self.freshness($0.value) < self.freshness($1.value) })?.key {
            self.sessions.removeValue(forKey: oldest)
        }
        self.sessions[session.privateID] = Kept(session: session, origin: origin, connected: connected, entry: entry)
        self.takenAway.removeValue(forKey: session.privateID)
    }

    /// Notes that an entry from `origin` was read at `now` (the node is alive).
    mutating func noteAlive(origin: String, now: NIODeadline) {
        self.lastSeen[origin] = now
    }

    /// The kept record of `privateID`, if any.
    func kept(privateID: String) -> Kept? {
        self.sessions[privateID]
    }

    /// When a record's age starts: the disconnect, or for a connected one the later of its time and
    /// its node's last sign of life.
    private func freshness(_ kept: Kept) -> NIODeadline {
        guard kept.connected, let origin = kept.origin, let seen = self.lastSeen[origin] else { return kept.session.disconnectedAt }
        return max(kept.session.disconnectedAt, seen)
    }

    /// The session `privateID` and the broadcasts it missed after `offset` up to `through` (the
    /// newest entry already delivered to the reconnecting socket's event loop: later ones reach it
    /// live), or `nil` if it cannot be recovered.
    /// A record of a socket still connected (no disconnect seen) is restored like a disconnected one:
    /// the client presenting its secret pid has given up on that connection.
    /// An offset up to `ahead` milliseconds past the newest entry read is accepted: the client read
    /// it from a node whose reader was ahead of this one's (nothing to replay; the caller skips the
    /// entries up to it when they arrive).
    /// `resuming`: this node's restore of the session is under way (its first snapshot was taken):
    /// a record another node's takeover removed since is still its.
    mutating func restore(privateID: String, offset: String, through: StreamID, now: NIODeadline,
                          ahead: UInt64 = 0, resuming: Bool = false) -> (Kept, [SocketPacket])? {
        self.compact(now: now)
        guard let kept = self.sessions[privateID] ?? (resuming ? self.takenAway[privateID] : nil) else { return nil }
        let session = kept.session
        guard now - self.freshness(kept) <= self.configuration.maxDisconnectionDuration else {
            self.sessions.removeValue(forKey: privateID)
            return nil
        }
        guard let value = StreamID(offset), value >= self.droppedThrough,
              value <= self.lastID || value.milliseconds <= self.lastID.milliseconds + ahead else { return nil }
        let packets = self.log[self.logStart...]
            .drop(while: { $0.id <= value })
            .prefix(while: { $0.id <= through })
            .filter { Self.reaches($0.options, rooms: session.rooms) }
            .map(\.packet)
        return (kept, packets)
    }

    /// Forgets a session; `false` if it was not kept. A takeover by another node that had read the
    /// stream up to `seen` forgets only a record it could have restored (one read from the stream at
    /// or before `seen`): a newer one belongs to a later connection of the same client.
    /// A take without `seen` (this node's restore) also finds a record another node's takeover
    /// removed since the restore's snapshot: that takeover was of an earlier connection of the client.
    mutating func take(privateID: String, seen: StreamID? = nil) -> Bool {
        guard let seen else {
            let taken = self.sessions.removeValue(forKey: privateID) ?? self.takenAway[privateID]
            self.takenAway.removeValue(forKey: privateID)
            return taken != nil
        }
        guard let kept = self.sessions[privateID], (kept.entry ?? .init(milliseconds: .max, sequence: .max)) <= seen else {
            return false
        }
        self.sessions.removeValue(forKey: privateID)
        if self.takenAway.count >= 1024 { self.takenAway.removeAll() }
        self.takenAway[privateID] = kept
        return true
    }

    /// Drops broadcasts (all but the newest) and sessions older than the disconnection limit.
    mutating func compact(now: NIODeadline) {
        let horizon = now - self.configuration.maxDisconnectionDuration
        while self.logStart < self.log.count - 1, self.log[self.logStart].loggedAt < horizon {
            self.droppedThrough = self.log[self.logStart].id
            self.logStart += 1
        }
        if self.logStart > 1024, self.logStart * 2 > self.log.count {
            self.log.removeFirst(self.logStart)
            self.logStart = 0
        }
        if self.sessions.count > 256, self.sessions.count % 256 == 0 {
            self.sessions = self.sessions.filter { self.freshness($0.value) >= horizon }
        }
        if self.lastSeen.count > 64 {
            self.lastSeen = self.lastSeen.filter { $0.value >= horizon }
        }
    }

    /// Whether a broadcast with `options` would have reached a socket in `rooms`.
    static func reaches(_ options: BroadcastOptions, rooms: Set<String>) -> Bool {
        let included = options.rooms.isEmpty || !options.rooms.isDisjoint(with: rooms)
        return included && options.except.isDisjoint(with: rooms)
    }
}

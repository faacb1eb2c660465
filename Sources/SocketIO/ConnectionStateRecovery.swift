import EngineIO
import NIOCore

/// Connection-state recovery, as socket.io 4.6+ speaks it: a client that lost its connection for
/// less than ``maxDisconnectionDuration`` reconnects with `{pid, offset}` in its CONNECT payload and
/// gets its socket id, rooms and user data back, plus every broadcast it missed.
public struct ConnectionStateRecovery: Sendable, Hashable {
    /// How long a disconnected session and the broadcasts it may miss are kept. Default 120 000 ms.
    public var maxDisconnectionDuration: TimeAmount = .milliseconds(120_000)
    /// Whether a recovered connection skips the connect middlewares. socket.io's default is `true`;
    /// set `false` to re-validate credentials on every reconnect.
    public var skipMiddlewares: Bool = true
    /// The most broadcasts kept for replay per namespace; older ones are dropped first (a client that
    /// missed more than this is not recovered and reconnects as new). socket.io bounds by time only.
    /// Default 10 000.
    public var maxPackets: Int = 10_000
    /// The most disconnected sessions kept per namespace. Default 100 000.
    public var maxSessions: Int = 100_000

    /// Recovery with socket.io's defaults.
    public init() {}
}

/// What is kept of a socket that disconnected for a reason it may recover from.
public struct PersistedSession: Sendable {
    /// The socket id it had.
    public var socketID: String
    /// Its private session id (the `pid` of its CONNECT reply).
    public var privateID: String
    /// Its rooms, its own id included.
    public var rooms: Set<String>
    /// The application's data (``Socket/userInfo``).
    public var userInfo: [String: any Sendable]
    /// When it disconnected.
    public var disconnectedAt: NIODeadline

    /// A session (adapters that keep sessions elsewhere rebuild them with this).
    public init(socketID: String, privateID: String, rooms: Set<String>, userInfo: [String: any Sendable],
                disconnectedAt: NIODeadline) {
        self.socketID = socketID
        self.privateID = privateID
        self.rooms = rooms
        self.userInfo = userInfo
        self.disconnectedAt = disconnectedAt
    }
}

/// A session handed back for a reconnecting client, with the broadcasts it missed in order.
public struct RestoredSession: Sendable {
    /// The session as it was persisted.
    public var session: PersistedSession
    /// The missed broadcasts, each as encoded packets ready to send.
    public var missedPackets: [[EncodedPacket]]
    /// The newest offset at the time of the restore: broadcasts up to it were considered for the
    /// replay, so live deliveries of them still in flight must be skipped.
    public var replayedThrough: UInt64

    /// A restored session (for adapters other than ``InMemoryAdapter``).
    public init(session: PersistedSession, missedPackets: [[EncodedPacket]], replayedThrough: UInt64) {
        self.session = session
        self.missedPackets = missedPackets
        self.replayedThrough = replayedThrough
    }
}

/// The broadcast log and the disconnected sessions of one namespace, as a value type (no locking,
/// no I/O): ``InMemoryAdapter`` keeps one behind a lock.
public struct SessionRecoveryStore: Sendable {
    struct LoggedBroadcast: Sendable {
        var offset: UInt64
        var options: BroadcastOptions
        var packets: [EncodedPacket]
        var emittedAt: NIODeadline
    }

    /// The settings in force.
    public let configuration: ConnectionStateRecovery
    private var log: [LoggedBroadcast] = []
    private var logStart = 0
    private var sessions: [String: PersistedSession] = [:]
    private var lastOffset: UInt64 = 0
    /// The newest offset dropped from the log (by count or by age). A client whose offset is behind
    /// it may have missed something no longer kept, even from before it disconnected (a dead
    /// connection is noticed only at the ping timeout), so it is not recovered. The newest entry is
    /// never dropped by age, so a client of a quiet namespace still recovers.
    private var droppedThrough: UInt64 = 0

    /// An empty store.
    public init(configuration: ConnectionStateRecovery) {
        self.configuration = configuration
    }

    /// The number of broadcasts kept.
    public var loggedCount: Int { self.log.count - self.logStart }
    /// The number of sessions kept.
    public var sessionCount: Int { self.sessions.count }

    /// Reserves the offset of the next broadcast, as the string appended to its arguments.
    public mutating func nextOffset() -> String {
        self.lastOffset += 1
        return String(self.lastOffset)
    }

    /// Logs a broadcast sent at `now` under the offset just reserved.
    public mutating func record(offset: String, options: BroadcastOptions, packets: [EncodedPacket], now: NIODeadline) {
        guard let value = UInt64(offset) else { return }
        self.log.append(LoggedBroadcast(offset: value, options: options, packets: packets, emittedAt: now))
        if self.loggedCount > self.configuration.maxPackets {
            self.droppedThrough = self.log[self.logStart].offset
            self.logStart += 1
        }
        self.compact(now: now)
    }

    /// Keeps a disconnected session until it is restored or expires.
    public mutating func persist(_ session: PersistedSession) {
        // Expired sessions are swept every 256 arrivals, so the sweep costs O(1) per disconnect.
        if self.sessions.count % 256 == 255 {
            self.expireSessions(now: session.disconnectedAt)
        }
        if self.sessions.count >= self.configuration.maxSessions, self.sessions[session.privateID] == nil,
           let oldest = self.sessions.min(by: { $0.value.disconnectedAt < $1.value.disconnectedAt })?.key {
            self.sessions.removeValue(forKey: oldest)
        }
        self.sessions[session.privateID] = session
    }

    /// The session `privateID` with what it missed after `offset`, or `nil` if the session is
    /// unknown or expired, or something after `offset` may be gone from the log (the client then
    /// connects as new). The session is kept until ``take(privateID:)``, so a refused attempt (an
    /// expired token, say) can be retried.
    public mutating func restore(privateID: String, offset: String, now: NIODeadline) -> RestoredSession? {
        self.compact(now: now)
        guard let session = self.sessions[privateID] else { return nil }
        guard now - session.disconnectedAt <= self.configuration.maxDisconnectionDuration else {
            self.sessions.removeValue(forKey: privateID)
            return nil
        }
        guard let value = UInt64(offset), value <= self.lastOffset, value >= self.droppedThrough else { return nil }
        let missed = self.log[self.logStart...].drop(while: { $0.offset <= value })
        let packets = missed.filter { Self.reaches($0.options, rooms: session.rooms) }.map(\.packets)
        return RestoredSession(session: session, missedPackets: packets, replayedThrough: self.lastOffset)
    }

    /// Forgets the session `privateID` once it was restored. Returns whether it was still kept (a
    /// concurrent restore of the same session may have taken it first).
    public mutating func take(privateID: String) -> Bool {
        self.sessions.removeValue(forKey: privateID) != nil
    }

    /// Drops broadcasts (all but the newest) older than ``ConnectionStateRecovery/maxDisconnectionDuration``.
    public mutating func compact(now: NIODeadline) {
        let horizon = now - self.configuration.maxDisconnectionDuration
        while self.logStart < self.log.count - 1, self.log[self.logStart].emittedAt < horizon {
            self.droppedThrough = self.log[self.logStart].offset
            self.logStart += 1
        }
        if self.logStart > 1024, self.logStart * 2 > self.log.count {
            self.log.removeFirst(self.logStart)
            self.logStart = 0
        }
    }

    private mutating func expireSessions(now: NIODeadline) {
        let horizon = now - self.configuration.maxDisconnectionDuration
        self.sessions = self.sessions.filter { $0.value.disconnectedAt >= horizon }
    }

    /// Whether a broadcast with `options` would have reached a socket in `rooms`.
    static func reaches(_ options: BroadcastOptions, rooms: Set<String>) -> Bool {
        let included = options.rooms.isEmpty || !options.rooms.isDisjoint(with: rooms)
        return included && options.except.isDisjoint(with: rooms)
    }
}

import NIOCore

/// Whether the hub's Redis connection is up, and how many outages there were: a value type fed
/// the connection's state changes. An outage begins when the connection drops (or the first
/// attempt fails) and ends when it is back; the reconnect attempts in between are one outage, so it
/// is logged and counted once.
struct RedisOutageTracker: Sendable, Hashable {
    /// What the caller should do after a state change.
    enum Transition: Sendable, Hashable {
        /// Nothing new (another failed attempt during the same outage, or a first connect).
        case none
        /// An outage began: log it once.
        case outageBegan
        /// The outage that began at `since` is over.
        case outageEnded(since: NIODeadline)
    }

    private enum State: Sendable, Hashable {
        case starting
        case connected
        case down(since: NIODeadline)
    }

    private var state = State.starting
    /// Outages so far.
    private(set) var outages = 0

    /// Whether the connection is up.
    var isConnected: Bool {
        if case .connected = self.state { return true }
        return false
    }

    /// The connection is up.
    mutating func connected() -> Transition {
        switch self.state {
        case .starting, .connected:
            self.state = .connected
            return .none
        case .down(let since):
            self.state = .connected
            return .outageEnded(since: since)
        }
    }

    /// The connection dropped, or an attempt failed, at `now`.
    mutating func disconnected(at now: NIODeadline) -> Transition {
        switch self.state {
        case .down:
            return .none
        case .starting, .connected:
            self.state = .down(since: now)
            self.outages += 1
            return .outageBegan
        }
    }
}

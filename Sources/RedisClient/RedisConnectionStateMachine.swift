import NIOCore

/// The life of a reconnecting Redis connection, as a value type (no I/O, no clock, no randomness:
/// the owner performs the returned actions). `Command` is whatever the owner queues for sending
/// while a connection is being set up.
///
/// ```
/// idle ─start─▶ connecting(n) ─connected─▶ ready ─connectionLost─▶ waitingToReconnect(0)
///                    │ ▲                                                    │
///        connectFailed ╰──────────────── retryTimerFired ◀──────────────────╯
///                    ▼
///          waitingToReconnect(n+1)            any state ─close─▶ closed
/// ```
public struct RedisConnectionStateMachine<Command> {
    /// Where the connection is.
    public enum State: Hashable, Sendable {
        /// Not started.
        case idle
        /// Connecting (TCP + AUTH/SELECT); `attempt` counts failed attempts since the last success.
        case connecting(attempt: Int)
        /// Connected; commands are written at once.
        case ready
        /// Waiting for the retry timer after a failure.
        case waitingToReconnect(attempt: Int)
        /// Closed for good.
        case closed
    }

    /// What to do with a command handed to ``send(_:)``.
    public enum SendAction {
        /// Write it now.
        case write(Command)
        /// Nothing: it is queued until the connection is ready.
        case queued
        /// Fail it with the error.
        case fail(Command, RedisClientError)
    }

    /// The current state.
    public private(set) var state: State = .idle
    /// The most commands queued while connecting.
    public let maxQueued: Int
    private var queue = CircularBuffer<Command>()

    /// A machine that queues at most `maxQueued` commands while connecting.
    public init(maxQueued: Int) {
        self.maxQueued = maxQueued
    }

    /// The number of commands waiting for the connection.
    public var queuedCount: Int { self.queue.count }

    /// Starts connecting; `true` if the owner must open a connection now.
    public mutating func start() -> Bool {
        guard case .idle = self.state else { return false }
        self.state = .connecting(attempt: 0)
        return true
    }

    /// Decides what happens to `command`.
    public mutating func send(_ command: Command) -> SendAction {
        switch self.state {
        case .ready:
            return .write(command)
        case .idle, .connecting:
            guard self.queue.count < self.maxQueued else { return .fail(command, .tooManyPendingCommands) }
            self.queue.append(command)
            return .queued
        case .waitingToReconnect:
            return .fail(command, .notConnected)
        case .closed:
            return .fail(command, .closed)
        }
    }

    /// The connection (with its handshake) is up: the queued commands to write, in order. `nil`
    /// if the machine was closed meanwhile (the owner closes the new connection).
    public mutating func connected() -> [Command]? {
        guard case .connecting = self.state else { return nil }
        self.state = .ready
        defer { self.queue.removeAll() }
        return Array(self.queue)
    }

    /// A connection attempt failed: the retry number to schedule (`nil` if closed) and the queued
    /// commands to fail with ``RedisClientError/notConnected``.
    public mutating func connectFailed() -> (retryAttempt: Int?, failed: [Command]) {
        guard case .connecting(let attempt) = self.state else { return (nil, []) }
        self.state = .waitingToReconnect(attempt: attempt + 1)
        defer { self.queue.removeAll() }
        return (attempt, Array(self.queue))
    }

    /// The ready connection dropped: the retry number to schedule (`nil` if closed or not ready).
    public mutating func connectionLost() -> Int? {
        guard case .ready = self.state else { return nil }
        self.state = .waitingToReconnect(attempt: 0)
        return 0
    }

    /// The retry timer fired: `true` if the owner must open a connection now.
    public mutating func retryTimerFired() -> Bool {
        guard case .waitingToReconnect(let attempt) = self.state else { return false }
        self.state = .connecting(attempt: attempt)
        return true
    }

    /// Closes for good: the queued commands to fail with ``RedisClientError/closed``.
    public mutating func close() -> [Command] {
        self.state = .closed
        defer { self.queue.removeAll() }
        return Array(self.queue)
    }
}

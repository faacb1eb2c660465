/// An error reply from Redis (`-ERR …`, `-WRONGTYPE …`) to one command; other commands on the same
/// connection are not affected.
public struct RedisServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reply's text, such as `WRONGTYPE Operation against a key holding the wrong kind of value`.
    public var message: String

    /// An error with `message`.
    public init(message: String) {
        self.message = message
    }

    public var description: String { "Redis error: \(self.message)" }
}

/// Why the client could not run a command.
public enum RedisClientError: Error, Hashable, Sendable {
    /// The connection dropped after the command was written: it may or may not have run.
    case connectionLost
    /// The client is waiting to reconnect after a failure; the command was not sent.
    case notConnected
    /// More than ``RedisConnection/Configuration/maxPendingCommands`` commands wait for a connection.
    case tooManyPendingCommands
    /// ``RedisConnection/close()`` was called.
    case closed
    /// The server sent a reply nobody asked for, or one of the wrong shape.
    case unexpectedReply(String)
}

import NIOCore

/// How a ``RedisConnection`` or ``RedisSubscriber`` reaches Redis and recovers from losing it.
public struct RedisConnectionConfiguration: Sendable, Hashable {
    /// The server and credentials.
    public var url: RedisURL
    /// How long a TCP connect plus the AUTH/SELECT handshake may take. Default 5 s.
    public var connectTimeout: TimeAmount = .seconds(5)
    /// Reconnect delays after a failure (exponential, capped, jittered). See ``RedisBackoff``.
    public var reconnect = RedisBackoff()
    /// The most commands queued while a connection is being set up; more fail with
    /// ``RedisClientError/tooManyPendingCommands``. Default 10 000.
    public var maxPendingCommands: Int = 10_000
    /// The reply decoder's bounds.
    public var decoder = RESPDecoder.Configuration()

    /// Settings for `url`, the rest at their defaults.
    public init(url: RedisURL) {
        self.url = url
    }
}

/// A connection's state as reported to ``RedisConnection/onStateChange(_:)`` handlers.
public enum RedisConnectionEvent: Sendable {
    /// Connected (and authenticated, database selected).
    case connected
    /// The connection dropped or an attempt failed; the client retries after its backoff.
    case disconnected(any Error)
}

extension RedisConnection {
    /// The connection's settings (shared with ``RedisSubscriber``).
    public typealias Configuration = RedisConnectionConfiguration
}

extension RedisSubscriber {
    /// The subscriber's settings (shared with ``RedisConnection``).
    public typealias Configuration = RedisConnectionConfiguration
}

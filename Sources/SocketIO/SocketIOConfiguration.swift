import EngineIO
import NIOCore

/// Settings of a ``SocketIOServer``; names and defaults follow socket.io's `ServerOptions`.
public struct SocketIOConfiguration: Sendable {
    /// The Engine.IO settings (path, heartbeat, buffer sizes, transports, CORS).
    public var engine: EngineConfiguration
    /// How long a connection may stay without joining any namespace before it is closed.
    /// Default 45 000 ms.
    public var connectTimeout: TimeAmount = .milliseconds(45_000)
    /// The most binary attachments one packet may announce. Default 100 (socket.io has no bound).
    public var maxAttachments: Int = 100
    /// The deepest JSON nesting accepted in a packet. Default 128 (socket.io has no bound).
    public var maxJSONDepth: Int = 128

    /// Connection-state recovery; `nil` (socket.io's default) turns it off.
    public var connectionStateRecovery: ConnectionStateRecovery? = nil

    /// Creates a configuration with socket.io's defaults.
    public init(engine: EngineConfiguration = EngineConfiguration()) {
        self.engine = engine
    }
}

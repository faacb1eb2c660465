/// A decoded Engine.IO v4 packet.
public enum EnginePacket: Hashable, Sendable {
    /// The handshake; the associated value is its JSON text.
    case open(String)
    /// Close the session. Any data after the type digit is ignored.
    case close
    /// A ping; the payload is `""` for heartbeats or `"probe"` during an upgrade.
    case ping(String)
    /// A pong; the payload echoes the ping's.
    case pong(String)
    /// An application message.
    case message(EngineMessage)
    /// Completes a transport upgrade. Any data after the type digit is ignored.
    case upgrade
    /// A no-op. Any data after the type digit is ignored.
    case noop

    /// The packet's type.
    @inlinable
    public var type: EnginePacketType {
        switch self {
        case .open: .open
        case .close: .close
        case .ping: .ping
        case .pong: .pong
        case .message: .message
        case .upgrade: .upgrade
        case .noop: .noop
        }
    }
}

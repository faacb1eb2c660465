/// The seven Engine.IO v4 packet types; the raw value is the digit that starts a text packet.
public enum EnginePacketType: UInt8, Sendable, CaseIterable {
    /// The server's handshake (`0{"sid":…}`).
    case open = 0
    /// A request to close the session.
    case close = 1
    /// A heartbeat, or `2probe` during an upgrade.
    case ping = 2
    /// The answer to a ping (`3`, `3probe`).
    case pong = 3
    /// An application message (a Socket.IO packet).
    case message = 4
    /// Completes the upgrade from HTTP long-polling to WebSocket.
    case upgrade = 5
    /// Does nothing; used to release a pending long-poll.
    case noop = 6

    /// The ASCII digit that encodes this type on the wire.
    @inlinable
    public var asciiDigit: UInt8 {
        UInt8(ascii: "0") &+ self.rawValue
    }
}

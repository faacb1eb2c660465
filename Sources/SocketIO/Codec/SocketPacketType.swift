/// The seven Socket.IO v5 packet types; the raw value is the digit that starts the packet.
public enum SocketPacketType: UInt8, Sendable, CaseIterable {
    /// Connect to a namespace (client → server, with optional auth object), or its success (server → client).
    case connect = 0
    /// Leave a namespace.
    case disconnect = 1
    /// An event: `["name", args…]`.
    case event = 2
    /// The answer to an event that asked for an acknowledgement.
    case ack = 3
    /// A refused namespace connection (string or object payload).
    case connectError = 4
    /// An event with binary attachments.
    case binaryEvent = 5
    /// An acknowledgement with binary attachments.
    case binaryAck = 6

    /// The ASCII digit that encodes this type on the wire.
    @inlinable
    public var asciiDigit: UInt8 {
        UInt8(ascii: "0") &+ self.rawValue
    }

    /// Whether this type carries an attachment count (`binaryEvent`, `binaryAck`).
    @inlinable
    public var isBinary: Bool {
        self == .binaryEvent || self == .binaryAck
    }
}

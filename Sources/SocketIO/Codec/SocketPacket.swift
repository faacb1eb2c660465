/// A Socket.IO v5 packet.
public struct SocketPacket: Hashable, Sendable {
    /// The packet type. Decoded binary packets are reported as `.event` / `.ack` (as the
    /// reference parser does); the encoder picks the binary types itself when `data` holds binaries.
    public var type: SocketPacketType
    /// The namespace; "/" when absent on the wire.
    public var namespace: String
    /// The acknowledgement id.
    public var id: Int?
    /// The payload; binaries appear inline as `.binary` (placeholders already resolved).
    public var data: JSONValue?

    /// Creates a packet.
    @inlinable
    public init(type: SocketPacketType, namespace: String = "/", id: Int? = nil, data: JSONValue? = nil) {
        self.type = type
        self.namespace = namespace
        self.id = id
        self.data = data
    }
}

extension SocketPacket: CustomStringConvertible {
    /// The packet's Socket.IO text form (attachments not included).
    public var description: String {
        SocketPacketEncoder.encodeText(self).text
    }
}

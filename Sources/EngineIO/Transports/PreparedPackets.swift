import NIOCore

/// Engine.IO packets encoded once for many sessions: the packets themselves (appended to the
/// buffers of polling sessions) and the same packets framed as unmasked server WebSocket frames,
/// all in one buffer that is written as is to every WebSocket. A broadcast builds one and hands
/// it to each target, so no per-target encoding or framing happens.
public struct PreparedPackets: Sendable {
    /// The packets in order (a Socket.IO packet and its attachments).
    public let packets: [EncodedPacket]
    /// The packets as WebSocket frames (text or binary, FIN set, no mask), back to back.
    public let webSocketFrames: ByteBuffer

    /// Encodes `packets` for every transport.
    public init(_ packets: [EncodedPacket], allocator: ByteBufferAllocator) {
        self.packets = packets
        self.webSocketFrames = WebSocketFrameBytes.frames(of: packets, allocator: allocator)
    }
}

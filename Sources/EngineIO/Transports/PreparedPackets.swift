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

    private init(packets: [EncodedPacket], webSocketFrames: ByteBuffer) {
        self.packets = packets
        self.webSocketFrames = webSocketFrames
    }

    /// The same packets with a frame buffer of their own. A broadcast hands each other event loop
    /// such a copy, so the loops' writes do not contend on one buffer's reference count (every
    /// write retains the buffer; two cores doing so on one counter slows both).
    public func copy(allocator: ByteBufferAllocator) -> PreparedPackets {
        var frames = allocator.buffer(capacity: self.webSocketFrames.readableBytes)
        frames.writeImmutableBuffer(self.webSocketFrames)
        return PreparedPackets(packets: self.packets, webSocketFrames: frames)
    }
}

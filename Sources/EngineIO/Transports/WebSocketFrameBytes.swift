import NIOCore

/// Writes Engine.IO packets as server WebSocket frames (RFC 6455 §5.2): FIN set, opcode text (1)
/// or binary (2), no mask, the payload length in 7, 7+16 or 7+64 bits. Pure: no I/O. The frames
/// are written to the channel head-side of NIO's `WebSocketFrameEncoder`, as raw bytes.
enum WebSocketFrameBytes {
    /// The size of the header of an unmasked frame with `payloadLength` bytes.
    @inline(__always)
    static func headerSize(payloadLength: Int) -> Int {
        payloadLength < 126 ? 2 : (payloadLength <= Int(UInt16.max) ? 4 : 10)
    }

    /// Appends `packet` as one frame to `buffer`.
    static func write(_ packet: EncodedPacket, into buffer: inout ByteBuffer) {
        let length = packet.bytes.readableBytes
        // FIN + opcode: 0x81 text, 0x82 binary.
        buffer.writeInteger(packet.kind == .text ? UInt8(0x81) : UInt8(0x82))
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        var payload = packet.bytes
        buffer.writeBuffer(&payload)
    }

    /// `packets` as frames back to back, in one buffer allocated once.
    static func frames(of packets: some Collection<EncodedPacket>, allocator: ByteBufferAllocator) -> ByteBuffer {
        var size = 0
        for packet in packets {
            let length = packet.bytes.readableBytes
            size += Self.headerSize(payloadLength: length) + length
        }
        var buffer = allocator.buffer(capacity: size)
        for packet in packets {
            Self.write(packet, into: &buffer)
        }
        return buffer
    }
}

import EngineIO
import NIOCore

/// Encodes Socket.IO v5 packets:
/// `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`, binaries as attachments.
public enum SocketPacketEncoder {
    /// Socket.IO text form + attachments in placeholder order.
    ///
    /// If an `.event` or `.ack` carries binaries it becomes `.binaryEvent` / `.binaryAck`: each
    /// binary is replaced by `{"_placeholder":true,"num":i}` (depth first, objects in insertion
    /// order) and the text starts `<type><n>-`. `.binaryEvent` / `.binaryAck` always use that form,
    /// even with no binaries (`50-…`). A namespace other than "/" (and "") is written followed by
    /// a comma, whatever follows, as the reference encoder does (`1/admin,`). Binaries in other
    /// packet types cannot be sent and are written as `null`.
    public static func encodeText(_ packet: SocketPacket) -> (text: String, attachments: [ByteBuffer]) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64)
        let attachments = Self.write(packet, into: &buffer)
        return (String(buffer: buffer), attachments)
    }

    /// Hot path: the Engine.IO packets to send — first the text message ("4" + Socket.IO text, built with EngineCodec.encodeTextMessage, serializing straight into the buffer), then one .binary EncodedPacket per attachment.
    public static func encode(_ packet: SocketPacket, allocator: ByteBufferAllocator) -> [EncodedPacket] {
        var attachments: [ByteBuffer] = []
        let message = EngineCodec.encodeTextMessage(allocator: allocator, reservingCapacity: 63) { buffer in
            attachments = Self.write(packet, into: &buffer)
        }
        guard !attachments.isEmpty else { return [message] }
        var packets: [EncodedPacket] = []
        packets.reserveCapacity(1 + attachments.count)
        packets.append(message)
        for attachment in attachments {
            packets.append(EncodedPacket(kind: .binary, bytes: attachment))
        }
        return packets
    }

    /// Appends the packet's text form to `buffer` and returns its attachments.
    ///
    /// An event or ack is first written as plain text in one pass; only if that pass meets a
    /// binary is the text rewritten in binary form, so plain packets are serialized once.
    public static func write(_ packet: SocketPacket, into buffer: inout ByteBuffer) -> [ByteBuffer] {
        let start = buffer.writerIndex
        switch packet.type {
        case .event, .ack:
            var writer = JSONWriter(mode: .detect)
            Self.writeHeader(type: packet.type, attachmentCount: 0, packet, into: &buffer)
            if let data = packet.data {
                writer.write(data, into: &buffer)
            }
            guard writer.sawBinary else { return [] }
            buffer.moveWriterIndex(to: start)
            return Self.writeBinary(packet, type: packet.type == .event ? .binaryEvent : .binaryAck, into: &buffer)
        case .binaryEvent, .binaryAck:
            return Self.writeBinary(packet, type: packet.type, into: &buffer)
        case .connect, .disconnect, .connectError:
            var writer = JSONWriter(mode: .null)
            Self.writeHeader(type: packet.type, attachmentCount: 0, packet, into: &buffer)
            if let data = packet.data {
                writer.write(data, into: &buffer)
            }
            return []
        }
    }

    private static func writeBinary(_ packet: SocketPacket, type: SocketPacketType, into buffer: inout ByteBuffer) -> [ByteBuffer] {
        Self.writeHeader(type: type, attachmentCount: packet.data?.binaryCount ?? 0, packet, into: &buffer)
        guard let data = packet.data else { return [] }
        var writer = JSONWriter(mode: .placeholders)
        writer.write(data, into: &buffer)
        return writer.attachments
    }

    private static func writeHeader(type: SocketPacketType, attachmentCount: Int, _ packet: SocketPacket, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type.asciiDigit)
        if type.isBinary {
            JSONWriter.writeDecimal(attachmentCount, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "-"))
        }
        if !packet.namespace.isEmpty && packet.namespace != "/" {
            buffer.writeString(packet.namespace)
            buffer.writeInteger(UInt8(ascii: ","))
        }
        if let id = packet.id {
            JSONWriter.writeDecimal(id, into: &buffer)
        }
    }
}

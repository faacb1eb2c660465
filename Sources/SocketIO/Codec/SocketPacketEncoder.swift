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
    /// The size is measured first (counting binaries on the way), then the header and payload are
    /// written into memory reserved once.
    public static func write(_ packet: SocketPacket, into buffer: inout ByteBuffer) -> [ByteBuffer] {
        var binaries = 0
        let payloadBound = packet.data.map { JSONWriter.measure($0, binaries: &binaries) } ?? 0
        let type: SocketPacketType
        let mode: JSONWriter.BinaryMode
        switch packet.type {
        case .event, .ack:
            type = binaries == 0 ? packet.type : (packet.type == .event ? .binaryEvent : .binaryAck)
            mode = .placeholders
        case .binaryEvent, .binaryAck:
            type = packet.type
            mode = .placeholders
        case .connect, .disconnect, .connectError:
            type = packet.type
            mode = .null
            binaries = 0
        }
        let writesNamespace = !packet.namespace.isEmpty && packet.namespace != "/"
        var headerBound = 1
        if type.isBinary { headerBound &+= JSONWriter.decimalLength(binaries) &+ 1 }
        if writesNamespace { headerBound &+= packet.namespace.utf8.count &+ 1 }
        if let id = packet.id { headerBound &+= JSONWriter.decimalLength(id) }

        var writer = JSONWriter(mode: mode)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: headerBound &+ payloadBound) { raw in
            var output = RawOutput(raw)
            output.append(type.asciiDigit)
            if type.isBinary {
                JSONWriter.writeDecimal(binaries, to: &output)
                output.append(UInt8(ascii: "-"))
            }
            if writesNamespace {
                let copied: Void? = packet.namespace.utf8.withContiguousStorageIfAvailable { output.append(UnsafeRawBufferPointer($0)) }
                if copied == nil {
                    Array(packet.namespace.utf8).withUnsafeBytes { output.append($0) }
                }
                output.append(UInt8(ascii: ","))
            }
            if let id = packet.id {
                JSONWriter.writeDecimal(id, to: &output)
            }
            if let data = packet.data {
                writer.write(data, to: &output)
            }
            return output.count
        }
        return writer.attachments
    }
}

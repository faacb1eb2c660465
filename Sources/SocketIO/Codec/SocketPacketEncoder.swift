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
        let plan = Plan(packet)
        var buffer = ByteBufferAllocator().buffer(capacity: plan.bound)
        let attachments = Self.write(packet, plan: plan, into: &buffer)
        return (String(buffer: buffer), attachments)
    }

    /// Hot path: the Engine.IO packets to send — first the text message ("4" + Socket.IO text, built with EngineCodec.encodeTextMessage, serializing straight into the buffer), then one .binary EncodedPacket per attachment.
    ///
    /// The size is measured before the buffer is allocated, so it is allocated once.
    public static func encode(_ packet: SocketPacket, allocator: ByteBufferAllocator) -> [EncodedPacket] {
        let plan = Plan(packet)
        var attachments: [ByteBuffer] = []
        let message = EngineCodec.encodeTextMessage(allocator: allocator, reservingCapacity: plan.bound) { buffer in
            attachments = Self.write(packet, plan: plan, into: &buffer)
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
    public static func write(_ packet: SocketPacket, into buffer: inout ByteBuffer) -> [ByteBuffer] {
        Self.write(packet, plan: Plan(packet), into: &buffer)
    }

    /// What a packet encodes to: its wire type, what happens to binaries, and a size bound.
    private struct Plan {
        var type: SocketPacketType
        var mode: JSONWriter.BinaryMode
        var binaries: Int
        var writesNamespace: Bool
        /// An upper bound of the text's size in bytes.
        var bound: Int

        init(_ packet: SocketPacket) {
            var binaries = 0
            let payloadBound = packet.data.map { JSONWriter.measure($0, binaries: &binaries) } ?? 0
            switch packet.type {
            case .event, .ack:
                self.type = binaries == 0 ? packet.type : (packet.type == .event ? .binaryEvent : .binaryAck)
                self.mode = .placeholders
            case .binaryEvent, .binaryAck:
                self.type = packet.type
                self.mode = .placeholders
            case .connect, .disconnect, .connectError:
                self.type = packet.type
                self.mode = .null
                binaries = 0
            }
            self.binaries = binaries
            self.writesNamespace = !packet.namespace.isEmpty && packet.namespace != "/"
            var bound = 1 &+ payloadBound
            if self.type.isBinary { bound &+= JSONWriter.decimalLength(binaries) &+ 1 }
            if self.writesNamespace { bound &+= packet.namespace.utf8.count &+ 1 }
            if let id = packet.id { bound &+= JSONWriter.decimalLength(id) }
            self.bound = bound
        }
    }

    /// Writes the header and the payload into memory reserved once.
    private static func write(_ packet: SocketPacket, plan: Plan, into buffer: inout ByteBuffer) -> [ByteBuffer] {
        var writer = JSONWriter(mode: plan.mode)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: plan.bound) { raw in
            var output = RawOutput(raw)
            output.append(plan.type.asciiDigit)
            if plan.type.isBinary {
                JSONWriter.writeDecimal(plan.binaries, to: &output)
                output.append(UInt8(ascii: "-"))
            }
            if plan.writesNamespace {
                let copied: Void? = packet.namespace.utf8.withContiguousStorageIfAvailable {
                    output.append(UnsafeRawBufferPointer($0))
                }
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

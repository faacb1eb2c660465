import Foundation
import NIOCore

/// Encoding and decoding of Engine.IO v4 packets and long-polling payloads. Pure: no I/O.
///
/// A text packet is its type digit followed by its data (`4hello`, `2probe`, `6`). A binary
/// message travels as a WebSocket binary frame, or as `b<base64>` inside a long-polling payload,
/// whose packets are separated by the record separator 0x1E.
public enum EngineCodec {
    /// The byte that separates packets in a long-polling payload.
    public static let payloadSeparator: UInt8 = 0x1E

    /// Decodes one text packet (a WebSocket text frame or one polling segment). "4hello" → .message(.text("hello")), "2probe" → .ping("probe").
    ///
    /// Like the reference parser, `b<base64>` decodes to a binary message, and data after the
    /// type digit of `close`, `upgrade` and `noop` is ignored.
    public static func decode(text: String) throws(EngineCodecError) -> EnginePacket {
        try self.decodeSegment(Substring(text))
    }

    /// A WebSocket binary frame is always a binary message.
    @inlinable
    public static func decode(binary: ByteBuffer) -> EnginePacket {
        .message(.binary(binary))
    }

    /// Decodes a polling POST body: segments separated by 0x1E; a segment starting with "b" is base64 binary (→ .message(.binary)); others are text packets. Invalid UTF-8 → invalidUTF8. Empty body → emptyPacket.
    ///
    /// The whole body must be valid UTF-8, and every segment must be a valid packet (an empty
    /// segment, as from a trailing separator, is ``EngineCodecError/emptyPacket``).
    public static func decodePayload(_ body: ByteBuffer) throws(EngineCodecError) -> [EnginePacket] {
        guard body.readableBytes > 0 else { throw .emptyPacket }
        let text: String? = body.withUnsafeReadableBytes { bytes in
            guard UTF8Validation.isValid(bytes) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        guard let text else { throw .invalidUTF8 }
        var packets: [EnginePacket] = []
        var segmentStart = text.startIndex
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index] == self.payloadSeparator {
                packets.append(try self.decodeSegment(text[segmentStart..<index]))
                segmentStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        packets.append(try self.decodeSegment(text[segmentStart..<utf8.endIndex]))
        return packets
    }

    /// Decodes one packet from a slice of valid text whose bounds are on Unicode scalar boundaries.
    static func decodeSegment(_ segment: Substring) throws(EngineCodecError) -> EnginePacket {
        let utf8 = segment.utf8
        guard let first = utf8.first else { throw .emptyPacket }
        let dataStart = utf8.index(after: utf8.startIndex)
        if first == UInt8(ascii: "b") {
            // Foundation's decoder: standard alphabet, anything else refused. engine.io pads, but
            // Node also accepts unpadded input, so the padding is restored first.
            var encoded = Data(utf8[dataStart...])
            if encoded.count % 4 != 0 {
                encoded.append(contentsOf: repeatElement(UInt8(ascii: "="), count: 4 - encoded.count % 4))
            }
            guard let decoded = Data(base64Encoded: encoded) else { throw .invalidBase64 }
            return .message(.binary(ByteBuffer(bytes: decoded)))
        }
        guard first >= UInt8(ascii: "0"), let type = EnginePacketType(rawValue: first &- UInt8(ascii: "0")) else {
            throw .unknownPacketType
        }
        // The data starts right after an ASCII byte, so the index is on a scalar boundary.
        func data() -> String {
            String(Substring(segment.unicodeScalars[dataStart...]))
        }
        switch type {
        case .open: return .open(data())
        case .close: return .close
        case .ping: return .ping(data())
        case .pong: return .pong(data())
        case .message: return .message(.text(data()))
        case .upgrade: return .upgrade
        case .noop: return .noop
        }
    }

    /// Encodes a packet. Text packets → .text with type digit + data; .message(.binary) → .binary raw bytes.
    public static func encode(_ packet: EnginePacket, allocator: ByteBufferAllocator) -> EncodedPacket {
        let data: String
        switch packet {
        case .message(.binary(let bytes)):
            return EncodedPacket(kind: .binary, bytes: bytes)
        case .open(let text), .ping(let text), .pong(let text), .message(.text(let text)):
            data = text
        case .close, .upgrade, .noop:
            data = ""
        }
        var buffer = allocator.buffer(capacity: 1 + data.utf8.count)
        buffer.writeInteger(packet.type.asciiDigit)
        buffer.writeString(data)
        return EncodedPacket(kind: .text, bytes: buffer)
    }

    /// Builds a text message packet: writes "4", then lets `body` append the message text. Hot path for Socket.IO encoding (no intermediate String).
    ///
    /// `body` must append valid UTF-8 only. `reservingCapacity` is a hint for the size of the
    /// message text (the type digit is added to it).
    @inlinable
    public static func encodeTextMessage(
        allocator: ByteBufferAllocator,
        reservingCapacity: Int,
        _ body: (inout ByteBuffer) -> Void
    ) -> EncodedPacket {
        var buffer = allocator.buffer(capacity: 1 + max(0, reservingCapacity))
        buffer.writeInteger(EnginePacketType.message.asciiDigit)
        body(&buffer)
        return EncodedPacket(kind: .text, bytes: buffer)
    }

    /// Writes a polling response body: text packets as-is, binary packets as "b" + base64, joined with 0x1E.
    public static func writePayload<C: Collection>(_ packets: C, into buffer: inout ByteBuffer) where C.Element == EncodedPacket {
        var size = 0
        for packet in packets {
            switch packet.kind {
            case .text: size += packet.bytes.readableBytes + 1
            case .binary: size += (packet.bytes.readableBytes + 2) / 3 * 4 + 2
            }
        }
        buffer.reserveCapacity(minimumWritableBytes: size)
        var first = true
        for packet in packets {
            if first {
                first = false
            } else {
                buffer.writeInteger(self.payloadSeparator)
            }
            switch packet.kind {
            case .text:
                buffer.writeImmutableBuffer(packet.bytes)
            case .binary:
                buffer.writeInteger(UInt8(ascii: "b"))
                buffer.writeString(Data(packet.bytes.readableBytesView).base64EncodedString())
            }
        }
    }
}

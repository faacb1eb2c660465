import EngineIO
import NIOCore

/// Turns Engine.IO messages into Socket.IO packets; value type, holds a partially received binary packet.
///
/// It accepts and rejects what the reference `socket.io-parser` decoder does, with a few
/// deliberate tightenings where that decoder's leniency comes from JavaScript number coercion:
/// the type must be a digit `0`–`6` (JS reads an empty or blank string as CONNECT), the attachment
/// count and the ack id must be plain ASCII digits, and a placeholder's `num` must be an integer.
///
/// After any error the decoder is reset: a partially received binary packet is dropped.
public struct SocketPacketDecoder: Sendable {
    /// Events a client may not emit (they have a meaning of their own), as in socket.io-parser.
    public static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    /// The largest attachment count a binary packet may announce.
    public let maxAttachments: Int
    /// The deepest JSON nesting accepted in a payload.
    public let maxJSONDepth: Int

    private var pending: Pending?

    private struct Pending: Sendable {
        var packet: SocketPacket
        var expected: Int
        var buffers: [ByteBuffer]
    }

    /// Creates a decoder.
    public init(maxAttachments: Int = 100, maxJSONDepth: Int = 128) {
        self.maxAttachments = maxAttachments
        self.maxJSONDepth = maxJSONDepth
    }

    /// Whether a binary packet has been read and still waits for attachments.
    public var isAwaitingAttachments: Bool {
        self.pending != nil
    }

    /// nil while a binary packet still waits for attachments. Text while awaiting attachments → .unexpectedText.
    ///
    /// A `binaryEvent` / `binaryAck` is returned as `.event` / `.ack` with its placeholders
    /// replaced by the attachments, once the last one has arrived (at once if it announced none).
    public mutating func decode(text: String) throws(SocketDecodingError) -> SocketPacket? {
        if self.pending != nil {
            self.pending = nil
            throw .unexpectedText
        }
        var text = text
        let maxAttachments = self.maxAttachments
        let maxJSONDepth = self.maxJSONDepth
        let (packet, attachments) = try text.withUTF8 { utf8 in
            Result { () throws(SocketDecodingError) in
                try Self.parse(UnsafeRawBufferPointer(utf8), maxAttachments: maxAttachments, maxJSONDepth: maxJSONDepth)
            }
        }.get()
        guard packet.type.isBinary else { return packet }

        var result = packet
        result.type = packet.type == .binaryEvent ? .event : .ack
        if let data = packet.data {
            try Self.checkPlaceholders(in: data, attachments: attachments)
        }
        if attachments == 0 {
            return result
        }
        self.pending = Pending(packet: result, expected: attachments, buffers: [])
        return nil
    }

    /// Binary without a pending binary packet → .unexpectedBinary.
    public mutating func decode(binary: ByteBuffer) throws(SocketDecodingError) -> SocketPacket? {
        guard var pending = self.pending else { throw .unexpectedBinary }
        pending.buffers.append(binary)
        guard pending.buffers.count == pending.expected else {
            self.pending = pending
            return nil
        }
        self.pending = nil
        var packet = pending.packet
        if let data = packet.data {
            packet.data = Self.resolvePlaceholders(in: data, with: pending.buffers)
        }
        return packet
    }

    /// Decodes an Engine.IO message: text via ``decode(text:)``, binary via ``decode(binary:)``.
    public mutating func decode(_ message: EngineMessage) throws(SocketDecodingError) -> SocketPacket? {
        switch message {
        case .text(let text): try self.decode(text: text)
        case .binary(let bytes): try self.decode(binary: bytes)
        }
    }

    /// Drops a partially received binary packet.
    public mutating func reset() {
        self.pending = nil
    }

    // MARK: - Text form

    /// Parses `<type>[<n>-][/<nsp>,][<id>][<json>]`; returns the packet (binary types kept) and
    /// the announced attachment count.
    static func parse(
        _ bytes: UnsafeRawBufferPointer,
        maxAttachments: Int,
        maxJSONDepth: Int
    ) throws(SocketDecodingError) -> (SocketPacket, attachments: Int) {
        let count = bytes.count
        guard count > 0,
              bytes[0] >= UInt8(ascii: "0"),
              let type = SocketPacketType(rawValue: bytes[0] &- UInt8(ascii: "0"))
        else { throw .unknownPacketType }
        var i = 1

        // Attachment count: digits then "-".
        var attachments = 0
        if type.isBinary {
            let start = i
            var tooMany = false
            while i < count, bytes[i] != UInt8(ascii: "-") {
                let digit = bytes[i] &- UInt8(ascii: "0")
                guard digit < 10 else { throw .illegalAttachments }
                if !tooMany {
                    attachments = attachments &* 10 &+ Int(digit)
                    tooMany = attachments > maxAttachments
                }
                i &+= 1
            }
            guard i < count, i > start else { throw .illegalAttachments }
            guard !tooMany else { throw .tooManyAttachments }
            i &+= 1
        }

        // Namespace: from "/" up to the first "," (or the end); the comma is consumed.
        var namespace = "/"
        if i < count, bytes[i] == UInt8(ascii: "/") {
            let start = i
            while i < count, bytes[i] != UInt8(ascii: ",") { i &+= 1 }
            namespace = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            if i < count { i &+= 1 }
        }

        // Ack id: a run of digits.
        var id: Int?
        if i < count, bytes[i] &- UInt8(ascii: "0") < 10 {
            var value = 0
            while i < count {
                let digit = bytes[i] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int(digit))
                guard !overflow1, !overflow2 else { throw .invalidPayload }
                value = sum
                i &+= 1
            }
            id = value
        }

        // Payload: the rest, as JSON.
        var data: JSONValue?
        if i < count {
            let payload: JSONValue
            do {
                payload = try JSONParser.parse(
                    UnsafeRawBufferPointer(rebasing: bytes[i..<count]), maxDepth: maxJSONDepth, validateUTF8: false
                )
            } catch {
                throw .invalidPayload
            }
            guard Self.isPayloadValid(payload, for: type) else { throw .invalidPayload }
            data = payload
        }
        return (SocketPacket(type: type, namespace: namespace, id: id, data: data), attachments)
    }

    /// What socket.io-parser's `isPayloadValid` allows for each type (checked only when a payload is present).
    static func isPayloadValid(_ payload: JSONValue, for type: SocketPacketType) -> Bool {
        switch type {
        case .connect:
            return payload.objectValue != nil
        case .disconnect:
            return false
        case .connectError:
            return payload.objectValue != nil || payload.stringValue != nil
        case .event, .binaryEvent:
            guard case .array(let elements) = payload, let first = elements.first else { return false }
            switch first {
            case .number: return true
            case .string(let name): return !Self.isReserved(name)
            default: return false
            }
        case .ack, .binaryAck:
            return payload.arrayValue != nil
        }
    }

    /// Whether `name` is one of ``reservedEvents``; checks the length first so that ordinary
    /// event names cost no hashing.
    static func isReserved(_ name: String) -> Bool {
        switch name.utf8.count {
        case 7, 10, 11, 13, 14: return Self.reservedEvents.contains(name)
        default: return false
        }
    }

    // MARK: - Placeholders

    /// The attachment index if `object` is a placeholder (`"_placeholder": true`), nil if it is an
    /// ordinary object.
    private static func placeholderIndex(_ object: JSONObject, attachments: Int) throws(SocketDecodingError) -> Int? {
        guard case .bool(true)? = object["_placeholder"] else { return nil }
        guard case .number(let num)? = object["num"],
              let index = Int(exactly: num),
              index >= 0, index < attachments
        else { throw .invalidPlaceholder }
        return index
    }

    private static func checkPlaceholders(in value: JSONValue, attachments: Int) throws(SocketDecodingError) {
        switch value {
        case .array(let elements):
            for element in elements {
                try Self.checkPlaceholders(in: element, attachments: attachments)
            }
        case .object(let object):
            if try Self.placeholderIndex(object, attachments: attachments) != nil { return }
            for (_, member) in object {
                try Self.checkPlaceholders(in: member, attachments: attachments)
            }
        case .null, .bool, .number, .string, .binary:
            return
        }
    }

    /// Replaces placeholders (already checked) by their buffers.
    private static func resolvePlaceholders(in value: JSONValue, with buffers: [ByteBuffer]) -> JSONValue {
        switch value {
        case .array(let elements):
            return .array(elements.map { Self.resolvePlaceholders(in: $0, with: buffers) })
        case .object(var object):
            if let index = try? Self.placeholderIndex(object, attachments: buffers.count) {
                return .binary(buffers[index])
            }
            for position in object.entries.indices {
                object.entries[position].value = Self.resolvePlaceholders(in: object.entries[position].value, with: buffers)
            }
            return .object(object)
        case .null, .bool, .number, .string, .binary:
            return value
        }
    }
}

import NIOCore

/// Parses one RESP2 value from the front of a buffer, within bounds. Pure: no I/O, no state between
/// calls (an incomplete value leaves the buffer untouched and returns `nil`; the next call starts
/// over once more bytes arrived).
public struct RESPParser: Sendable {
    /// The bounds in force.
    public let configuration: RESPDecoder.Configuration

    /// A parser with `configuration`'s bounds.
    public init(configuration: RESPDecoder.Configuration = .init()) {
        self.configuration = configuration
    }

    /// The next complete value, consumed from `buffer`; `nil` (nothing consumed) if more bytes are needed.
    /// - Throws: ``RESPDecodingError`` for bytes that cannot become valid RESP2 within the bounds.
    public func parse(_ buffer: inout ByteBuffer) throws(RESPDecodingError) -> RESPValue? {
        var copy = buffer
        guard let value = try self.parseValue(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws(RESPDecodingError) -> RESPValue? {
        guard let marker = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
            guard let line = try self.readLine(&buffer) else { return nil }
            switch marker {
            case UInt8(ascii: "+"): return .simpleString(String(decoding: line, as: UTF8.self))
            case UInt8(ascii: "-"): return .error(String(decoding: line, as: UTF8.self))
            default:
                guard let value = Self.integer(line) else { throw .invalidInteger }
                return .integer(value)
            }
        case UInt8(ascii: "$"):
            guard let line = try self.readLine(&buffer) else { return nil }
            guard let length = Self.integer(line), length >= -1 else { throw .invalidInteger }
            if length == -1 { return .bulkString(nil) }
            guard length <= self.configuration.maxBulkLength else { throw .bulkTooLong(Int(length)) }
            let count = Int(length)
            guard buffer.readableBytes >= count + 2 else { return nil }
            let payload = buffer.readSlice(length: count)!
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .missingCRLF }
            return .bulkString(payload)
        case UInt8(ascii: "*"):
            guard let line = try self.readLine(&buffer) else { return nil }
            guard let length = Self.integer(line), length >= -1 else { throw .invalidInteger }
            if length == -1 { return .array(nil) }
            guard length <= self.configuration.maxArrayLength else { throw .arrayTooLong(Int(length)) }
            guard depth < self.configuration.maxNestingDepth else { throw .nestingTooDeep }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(Int(length), 1024))
            for _ in 0..<length {
                guard let element = try self.parseValue(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw .invalidTypeMarker(marker)
        }
    }

    /// The bytes after the type marker up to CRLF (both consumed); `nil` if CRLF has not arrived.
    private func readLine(_ buffer: inout ByteBuffer) throws(RESPDecodingError) -> [UInt8]? {
        let view = buffer.readableBytesView
        let limit = min(view.count, self.configuration.maxLineLength + 3)
        guard let cr = view.prefix(limit).firstIndex(of: 0x0D) else {
            if view.count > self.configuration.maxLineLength + 2 { throw .lineTooLong }
            return nil
        }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == 0x0A else { throw .missingCRLF }
        let line = Array(view[(view.startIndex + 1)..<cr])
        buffer.moveReaderIndex(forwardBy: cr + 2 - view.startIndex)
        return line
    }

    private static func integer(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        return Int64(String(decoding: bytes, as: UTF8.self))
    }
}

import NIOCore

/// Writes ``RESPValue``s as RESP2 bytes (a NIO `MessageToByteEncoder`). Commands are arrays of bulk
/// strings.
public struct RESPEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = RESPValue

    /// An encoder.
    public init() {}

    public func encode(data: RESPValue, out: inout ByteBuffer) throws {
        Self.write(data, into: &out)
    }

    /// Appends `value`'s RESP2 bytes to `buffer`.
    public static func write(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text):
            buffer.writeInteger(UInt8(ascii: "+"))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .error(let text):
            buffer.writeInteger(UInt8(ascii: "-"))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .integer(let number):
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(String(number))
            buffer.writeStaticString("\r\n")
        case .bulkString(nil):
            buffer.writeStaticString("$-1\r\n")
        case .bulkString(var payload?):
            buffer.writeInteger(UInt8(ascii: "$"))
            buffer.writeString(String(payload.readableBytes))
            buffer.writeStaticString("\r\n")
            buffer.writeBuffer(&payload)
            buffer.writeStaticString("\r\n")
        case .array(nil):
            buffer.writeStaticString("*-1\r\n")
        case .array(let elements?):
            buffer.writeInteger(UInt8(ascii: "*"))
            buffer.writeString(String(elements.count))
            buffer.writeStaticString("\r\n")
            for element in elements {
                Self.write(element, into: &buffer)
            }
        }
    }

    /// The command `name` with `arguments` as a RESP array of bulk strings.
    public static func command(_ name: String, _ arguments: [RESPValue]) -> RESPValue {
        .array([.bulk(name)] + arguments)
    }
}

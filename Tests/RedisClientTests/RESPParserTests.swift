import Foundation
import NIOCore
import RedisClient
import TestSupport
import Testing

/// The RESP2 parser on recorded bytes: every type, split reads at every byte, and malformed input.
@Suite("RESP parser")
struct RESPParserTests {
    /// Parses every complete value in `bytes`.
    func parseAll(_ bytes: ByteBuffer, configuration: RESPDecoder.Configuration = .init()) throws -> [RESPValue] {
        var buffer = bytes
        var values: [RESPValue] = []
        let parser = RESPParser(configuration: configuration)
        while let value = try parser.parse(&buffer) {
            values.append(value)
        }
        #expect(buffer.readableBytes == 0, "bytes left over")
        return values
    }

    func fixture(_ name: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Array(Data(contentsOf: Fixtures.url("redis/\(name)"))))
    }

    @Test func everyReplyType() throws {
        let values = try self.parseAll(self.fixture("mixed-replies.resp"))
        #expect(values == [
            .simpleString("OK"), .integer(1000), .bulkString(nil), .array(nil), .error("ERR unknown command"),
            .bulkString(ByteBuffer()), .array([]),
        ])
    }

    @Test func pubSubMessage() throws {
        let values = try self.parseAll(self.fixture("pubsub-message.resp"))
        #expect(values == [.array([.bulk("message"), .bulk("news"), .bulk("hello")])])
        #expect(RedisPubSubPush(values[0]) == .message(RedisPubSubMessage(channel: "news", payload: ByteBuffer(string: "hello"))))
    }

    @Test func nestedStreamReply() throws {
        let values = try self.parseAll(self.fixture("xread-reply.resp"))
        let entries: RESPValue = .array([
            .array([.bulk("1700000000000-0"), .array([.bulk("t"), .bulk("b"), .bulk("p"), .bulk("hello")])]),
            .array([.bulk("1700000000001-3"), .array([.bulk("t"), .bulk("s")])]),
        ])
        #expect(values == [.array([.array([.bulk("stream"), entries])])])
    }

    /// Every fixture, fed in two pieces split at every byte, and one byte at a time, gives the same values.
    @Test(arguments: ["mixed-replies.resp", "pubsub-message.resp", "xread-reply.resp"])
    func splitReads(_ name: String) throws {
        let whole = try self.fixture(name)
        let expected = try self.parseAll(whole)
        let bytes = Array(whole.readableBytesView)
        let parser = RESPParser()
        for split in 0...bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<split])
            var values: [RESPValue] = []
            while let value = try parser.parse(&buffer) { values.append(value) }
            buffer.writeBytes(bytes[split...])
            while let value = try parser.parse(&buffer) { values.append(value) }
            #expect(values == expected, "split at \(split)")
        }
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for byte in bytes {
            buffer.writeInteger(byte)
            while let value = try parser.parse(&buffer) { values.append(value) }
        }
        #expect(values == expected)
    }

    @Test func binaryBulkStringKeepsCRLFInside() throws {
        let values = try self.parseAll(ByteBuffer(bytes: Array("$4\r\n\r\n\u{0}\u{1}\r\n".utf8)))
        #expect(values == [.bulkString(ByteBuffer(bytes: [13, 10, 0, 1]))])
    }

    @Test(arguments: [
        ("?what\r\n", RESPDecodingError.invalidTypeMarker(UInt8(ascii: "?"))),
        (":12a\r\n", .invalidInteger),
        ("$-2\r\n", .invalidInteger),
        ("*x\r\n", .invalidInteger),
        ("+OK\rX", .missingCRLF),
        ("$3\r\nfooXY", .missingCRLF),
        (":\r\n", .invalidInteger),
    ])
    func malformed(_ input: String, _ error: RESPDecodingError) {
        var buffer = ByteBuffer(string: input)
        #expect(throws: error) { try RESPParser().parse(&buffer) }
    }

    @Test func boundsAreConfiguration() {
        var configuration = RESPDecoder.Configuration()
        configuration.maxBulkLength = 10
        configuration.maxArrayLength = 2
        configuration.maxNestingDepth = 2
        configuration.maxLineLength = 8
        let parser = RESPParser(configuration: configuration)
        var bulk = ByteBuffer(string: "$11\r\n")
        #expect(throws: RESPDecodingError.bulkTooLong(11)) { try parser.parse(&bulk) }
        var array = ByteBuffer(string: "*3\r\n")
        #expect(throws: RESPDecodingError.arrayTooLong(3)) { try parser.parse(&array) }
        var nested = ByteBuffer(string: "*1\r\n*1\r\n*1\r\n:1\r\n")
        #expect(throws: RESPDecodingError.nestingTooDeep) { try parser.parse(&nested) }
        var line = ByteBuffer(string: "+123456789012")
        #expect(throws: RESPDecodingError.lineTooLong) { try parser.parse(&line) }
        var fits = ByteBuffer(string: "*1\r\n*1\r\n$10\r\n0123456789\r\n")
        let parsed = try? parser.parse(&fits)
        #expect(parsed == .array([.array([.bulk("0123456789")])]))
    }

    @Test func encoderRoundTrips() throws {
        let values: [RESPValue] = [
            .simpleString("OK"), .error("ERR x"), .integer(-7), .bulkString(nil), .array(nil), .bulk("é\r\n"),
            .array([.integer(1), .array([.bulk("a")]), .bulkString(nil)]),
        ]
        var buffer = ByteBuffer()
        for value in values { RESPEncoder.write(value, into: &buffer) }
        #expect(try self.parseAll(buffer) == values)
        var command = ByteBuffer()
        RESPEncoder.write(RESPEncoder.command("SET", ["k", 42]), into: &command)
        #expect(String(buffer: command) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n")
    }
}

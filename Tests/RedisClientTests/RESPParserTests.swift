import NIOCore
import RedisClient
import Testing

@Suite("RESP parser")
struct RESPParserTests {
    @Test func simpleString() throws {
        var buffer = ByteBuffer(string: "+OK\r\n")
        #expect(try RESPParser().parse(&buffer) == .simpleString("OK"))
        #expect(buffer.readableBytes == 0)
    }
}

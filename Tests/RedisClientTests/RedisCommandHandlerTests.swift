import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
@testable import RedisClient
import Testing

/// The RESP pipeline on an EmbeddedChannel: replies matched first-in first-out from recorded bytes
/// split anywhere, error replies failing one command only, pushes, malformed bytes and a closed
/// channel failing what waits.
@Suite("Redis command pipeline (EmbeddedChannel)")
struct RedisCommandHandlerTests {
    final class Observed: Sendable {
        let pushes = NIOLockedValueBox<[RESPValue]>([])
        let closes = NIOLockedValueBox<Int>(0)
    }

    func makeChannel(_ observed: Observed) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(RESPDecoder()),
            MessageToByteHandler(RESPEncoder()),
            RedisCommandHandler(onPush: { value in observed.pushes.withLockedValue { $0.append(value) } },
                                onClose: { _ in observed.closes.withLockedValue { $0 += 1 } }),
        ])
        return channel
    }

    func send(_ channel: EmbeddedChannel, _ name: String, _ arguments: [RESPValue]) throws -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        try channel.writeOutbound(RedisCommandHandler.Request(command: RESPEncoder.command(name, arguments), promise: promise))
        return promise.futureResult
    }

    @Test func pipelinedRepliesMatchInOrderAcrossSplitReads() throws {
        let observed = Observed()
        let channel = try self.makeChannel(observed)
        let get = try self.send(channel, "GET", ["k"])
        let incr = try self.send(channel, "INCR", ["k"])
        let ping = try self.send(channel, "PING", [])
        var written = try channel.readOutbound(as: ByteBuffer.self)
        var all = ByteBuffer()
        while var buffer = written {
            all.writeBuffer(&buffer)
            written = try channel.readOutbound(as: ByteBuffer.self)
        }
        #expect(String(buffer: all) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n")
        let replies = Array("$1\r\nv\r\n-ERR value is not an integer\r\n+PONG\r\n*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n".utf8)
        for chunk in stride(from: 0, to: replies.count, by: 5) {
            try channel.writeInbound(ByteBuffer(bytes: replies[chunk..<min(chunk + 5, replies.count)]))
        }
        #expect(try get.wait() == .bulk("v"))
        #expect(throws: RedisServerError(message: "ERR value is not an integer")) { try incr.wait() }
        #expect(try ping.wait() == .simpleString("PONG"))
        #expect(observed.pushes.withLockedValue { $0 } == [.array([.bulk("message"), .bulk("c"), .bulk("x")])])
        _ = try channel.finish()
    }

    @Test func malformedBytesFailWaitingCommandsAndClose() throws {
        let observed = Observed()
        let channel = try self.makeChannel(observed)
        let first = try self.send(channel, "GET", ["a"])
        let second = try self.send(channel, "GET", ["b"])
        // The decoding error ends at the command handler (it closes the channel), not in the caller.
        try channel.writeInbound(ByteBuffer(string: "!bogus\r\n"))
        #expect(throws: RedisClientError.connectionLost) { try first.wait() }
        #expect(throws: RedisClientError.connectionLost) { try second.wait() }
        #expect(observed.closes.withLockedValue { $0 } == 1)
        #expect(!channel.isActive)
        // A command written after the loss fails at once.
        let late = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.write(RedisCommandHandler.Request(command: .array([]), promise: late), promise: nil)
        #expect(throws: (any Error).self) { try late.futureResult.wait() }
    }

    @Test func closingTheChannelFailsWhatWaits() throws {
        let observed = Observed()
        let channel = try self.makeChannel(observed)
        let waiting = try self.send(channel, "BLPOP", ["q", "0"])
        try channel.close().wait()
        #expect(throws: RedisClientError.connectionLost) { try waiting.wait() }
        #expect(observed.closes.withLockedValue { $0 } == 1)
    }
}

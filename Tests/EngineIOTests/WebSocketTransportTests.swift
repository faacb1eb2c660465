import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import EngineIO

/// ``WebSocketTransport`` on an `EmbeddedChannel` in front of a WebSocket session: frames built
/// once and written as raw bytes, one flush per loop tick, and the outbound bound (volatile drops,
/// slow-consumer close), counted on the ``EngineServer``.
@Suite("Engine.IO WebSocket transport")
struct WebSocketTransportTests {
    @Test(arguments: [0, 1, 125, 126, 65_535, 65_536])
    func framesCarryTheLengthInTheShortestForm(length: Int) {
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: length)
        let frames = WebSocketFrameBytes.frames(of: [EncodedPacket(kind: .text, bytes: payload)], allocator: ByteBufferAllocator())
        let bytes = Array(frames.readableBytesView)
        #expect(bytes[0] == 0x81)
        switch length {
        case ..<126:
            #expect(bytes[1] == UInt8(length))
            #expect(bytes.count == 2 + length)
        case ...65_535:
            #expect(bytes[1] == 126)
            #expect(Int(bytes[2]) << 8 | Int(bytes[3]) == length)
            #expect(bytes.count == 4 + length)
        default:
            #expect(bytes[1] == 127)
            #expect(bytes[2..<10].reduce(0) { $0 << 8 | Int($1) } == length)
            #expect(bytes.count == 10 + length)
        }
        #expect(bytes.suffix(length).allSatisfy { $0 == UInt8(ascii: "x") })
    }

    @Test func aPacketAndItsAttachmentsAreFramesBackToBack() {
        let packets = [
            EncodedPacket(kind: .text, bytes: ByteBuffer(string: "451-[\"a\",{\"_placeholder\":true,\"num\":0}]")),
            EncodedPacket(kind: .binary, bytes: ByteBuffer(bytes: [1, 2, 3])),
        ]
        let prepared = PreparedPackets(packets, allocator: ByteBufferAllocator())
        let text = Array("451-[\"a\",{\"_placeholder\":true,\"num\":0}]".utf8)
        #expect(Array(prepared.webSocketFrames.readableBytesView) == [0x81, UInt8(text.count)] + text + [0x82, 3, 1, 2, 3])
        #expect(prepared.packets == packets)
        let copy = prepared.copy(allocator: ByteBufferAllocator())
        #expect(copy.webSocketFrames == prepared.webSocketFrames)
    }

    @Test func sendsOfOneTickLeaveInOneFlush() throws {
        let fixture = try TransportFixture()
        let prepared = PreparedPackets([EngineCodec.encode(.message(.text("a")), allocator: ByteBufferAllocator())],
                                       allocator: ByteBufferAllocator())
        fixture.session.send(prepared)
        fixture.session.send(prepared)
        // Written but not flushed until the tick ends.
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) == nil)
        fixture.channel.embeddedEventLoop.run()
        let first = try #require(try fixture.channel.readOutbound(as: ByteBuffer.self))
        let second = try #require(try fixture.channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(first.readableBytesView) == [0x81, 2, UInt8(ascii: "4"), UInt8(ascii: "a")])
        #expect(first == second)
        #expect(fixture.flushes.count == 1)
    }

    @Test func volatileSendsAreDroppedAndCountedWhileTheChannelIsOverItsHighWaterMark() throws {
        let fixture = try TransportFixture()
        let packet = EngineCodec.encode(.message(.text("v")), allocator: ByteBufferAllocator())
        #expect(fixture.session.sendVolatile([packet]))
        fixture.setWritable(false)
        #expect(!fixture.session.sendVolatile([packet]))
        #expect(!fixture.session.sendVolatile(PreparedPackets([packet], allocator: ByteBufferAllocator())))
        #expect(fixture.engine.volatileDrops == 2)
        fixture.setWritable(true)
        #expect(fixture.session.sendVolatile([packet]))
        fixture.channel.embeddedEventLoop.run()
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) != nil)
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) != nil)
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(fixture.engine.volatileDrops == 2)
        #expect(fixture.handler.closeReason == nil)
    }

    @Test func aSendPastMaxBufferedBytesClosesTheSessionAsASlowConsumer() throws {
        let fixture = try TransportFixture(maxBufferedBytes: 100)
        let small = EngineCodec.encode(.message(.text(String(repeating: "s", count: 59))), allocator: ByteBufferAllocator())
        let large = EngineCodec.encode(.message(.text(String(repeating: "l", count: 120))), allocator: ByteBufferAllocator())
        fixture.setWritable(false)
        // 62 bytes queued (frame header + "4" + 59): under the bound, written.
        fixture.session.send(small)
        #expect(fixture.flushes.count == 0)
        // 124 would be queued: the tick's writes are flushed first (the embedded socket takes
        // them all), then 62 are queued, under the bound.
        fixture.session.send(small)
        #expect(fixture.flushes.count == 1)
        #expect(fixture.handler.closeReason == nil)
        #expect(fixture.engine.bufferFullCloses == 0)
        // Flushed again, still not writable, 123 bytes would wait: the session closes instead.
        fixture.session.send(large)
        #expect(fixture.flushes.count == 2)
        #expect(fixture.handler.closeReason == .bufferFull)
        #expect(fixture.engine.bufferFullCloses == 1)
        let written = try (0..<2).map { _ in try #require(try fixture.channel.readOutbound(as: ByteBuffer.self)).readableBytes }
        #expect(written == [62, 62])
    }
}

/// A WebSocket session on an `EmbeddedChannel`, with the transport installed as in a server.
private struct TransportFixture {
    let channel: EmbeddedChannel
    let engine: EngineServer
    let session: EngineSession
    let handler: ClosingHandler
    let flushes: FlushCounter

    init(maxBufferedBytes: Int = 8 * 1024 * 1024) throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var configuration = EngineConfiguration()
        configuration.maxBufferedBytes = maxBufferedBytes
        let engine = EngineServer(configuration: configuration, delegate: NoDelegate(),
                                  logger: Logger(label: "ws-transport-tests", factory: { _ in SwiftLogNoOpLogHandler() }))
        let handshake = EngineHandshake(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/socket.io/"),
                                        query: QueryParameters(query: "EIO=4&transport=websocket"), remoteAddress: nil)
        let session = EngineSession(server: engine, eventLoop: channel.eventLoop, transport: .websocket, handshake: handshake,
                                    configuration: configuration, pollingHeaders: [:])
        let transport = WebSocketTransport(channel: channel, maxBufferedBytes: maxBufferedBytes,
                                           flushBatch: engine.flushBatch(for: channel.eventLoop))
        try transport.install(in: channel)
        let flushes = FlushCounter()
        try channel.pipeline.syncOperations.addHandler(flushes, position: .first)
        session.attachInitialWebSocket(transport)
        let handler = ClosingHandler()
        session.handler = handler
        self.channel = channel
        self.engine = engine
        self.session = session
        self.handler = handler
        self.flushes = flushes
    }

    func setWritable(_ writable: Bool) {
        self.channel.isWritable = writable
        self.channel.pipeline.fireChannelWritabilityChanged()
    }
}

/// Counts the flushes that reach the head of the pipeline.
private final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var count = 0

    func flush(context: ChannelHandlerContext) {
        self.count += 1
        context.flush()
    }
}

private final class ClosingHandler: EngineSessionHandler {
    var closeReason: EngineCloseReason?

    func engineSession(_ session: EngineSession, didReceive message: EngineMessage) {}

    func engineSession(_ session: EngineSession, didCloseWith reason: EngineCloseReason) {
        self.closeReason = reason
    }
}

private final class NoDelegate: EngineServerDelegate {
    func engineServer(_ server: EngineServer, didOpen session: EngineSession) {}
}

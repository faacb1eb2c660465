import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import Testing

@testable import EngineIO

/// ``EngineWebSocketHandler`` on an `EmbeddedChannel`, in front of a WebSocket session whose loop is
/// the channel's. Inbound frames are masked, as a client's are.
@Suite("Engine.IO WebSocket handler")
struct EngineWebSocketHandlerTests {
    @Test func pingIsAnsweredWithAPongCarryingTheSameData() throws {
        let fixture = try HandlerFixture()
        try fixture.channel.writeInbound(clientFrame(.ping, bytes: [1, 2, 3]))

        let pong = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(pong.opcode == .pong)
        #expect(pong.fin)
        #expect(Array(pong.unmaskedData.readableBytesView) == [1, 2, 3])
        #expect(fixture.handler.messages.isEmpty)
        #expect(fixture.channel.isActive)
    }

    @Test func closeFrameIsAnsweredWithACloseFrameAndTheSessionEnds() throws {
        let fixture = try HandlerFixture()
        var data = ByteBuffer()
        data.write(webSocketErrorCode: .normalClosure)
        try fixture.channel.writeInbound(clientFrame(.connectionClose, bytes: Array(data.readableBytesView)))

        let reply = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(reply.opcode == .connectionClose)
        #expect(closeCode(reply) == 1000)
        fixture.channel.embeddedEventLoop.run()
        #expect(!fixture.channel.isActive)
        #expect(fixture.handler.closeReason == .transportClose)
    }

    @Test func textWithInvalidUTF8IsClosedWith1007() throws {
        let fixture = try HandlerFixture()
        try fixture.channel.writeInbound(clientFrame(.text, bytes: [UInt8(ascii: "4"), 0xFF, 0xFE]))

        let close = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        #expect(closeCode(close) == 1007)
        fixture.channel.embeddedEventLoop.run()
        #expect(!fixture.channel.isActive)
        #expect(fixture.handler.messages.isEmpty)
    }

    @Test(arguments: [WebSocketOpcode.text, .binary])
    func frameOverTheMessageLimitIsClosedWith1009(opcode: WebSocketOpcode) throws {
        let fixture = try HandlerFixture(maxMessageSize: 8)
        try fixture.channel.writeInbound(clientFrame(opcode, bytes: Array("4abcdefgh".utf8)))

        let close = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(closeCode(close) == 1009)
        #expect(fixture.handler.messages.isEmpty)
    }

    @Test func fragmentedMessageOverTheLimitIsClosedWith1009() throws {
        // The pipeline EngineServer builds: the aggregator bounded by the same limit, then the handler.
        let fixture = try HandlerFixture(maxMessageSize: 8, aggregate: true)
        try fixture.channel.writeInbound(clientFrame(.text, bytes: Array("4abcd".utf8), fin: false))
        try fixture.channel.writeInbound(clientFrame(.continuation, bytes: Array("efgh".utf8), fin: true))

        let close = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        #expect(closeCode(close) == 1009)
        #expect(fixture.handler.messages.isEmpty)
    }

    @Test func fragmentationErrorIsClosedWith1002() throws {
        let fixture = try HandlerFixture(aggregate: true)
        // A continuation with no text or binary frame before it.
        try fixture.channel.writeInbound(clientFrame(.continuation, bytes: Array("4abc".utf8), fin: true))

        let close = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(closeCode(close) == 1002)
        #expect(fixture.handler.messages.isEmpty)
    }

    @Test func textPacketsAreDecodedAndDelivered() throws {
        let fixture = try HandlerFixture(maxMessageSize: 8)
        try fixture.channel.writeInbound(clientFrame(.text, bytes: Array("4héllo!".utf8)))  // 8 bytes: at the limit
        #expect(fixture.handler.messages == [.text("héllo!")])
        // The echo goes back as the bytes of an unmasked text frame, flushed at the end of the loop tick.
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) == nil)
        fixture.channel.embeddedEventLoop.run()
        let echo = try #require(try fixture.channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(echo.readableBytesView) == [0x81, 8] + Array("4héllo!".utf8))
    }

    @Test func binaryFramesAreBinaryMessages() throws {
        let fixture = try HandlerFixture()
        try fixture.channel.writeInbound(clientFrame(.binary, bytes: [0, 1, 255]))
        #expect(fixture.handler.messages == [.binary(ByteBuffer(bytes: [0, 1, 255]))])
        fixture.channel.embeddedEventLoop.run()
        let echo = try #require(try fixture.channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(echo.readableBytesView) == [0x82, 3, 0, 1, 255])
    }

    @Test func anInvalidPacketClosesTheSession() throws {
        let fixture = try HandlerFixture()
        try fixture.channel.writeInbound(clientFrame(.text, bytes: Array("abc".utf8)))
        #expect(fixture.handler.closeReason == .parseError)
        fixture.channel.embeddedEventLoop.run()
        let close = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        #expect(closeCode(close) == 1000)
    }

    @Test func aReservedOpcodeIsAProtocolError() throws {
        let fixture = try HandlerFixture()
        let reserved = try #require(WebSocketOpcode(encodedWebSocketOpcode: 0x3))
        try fixture.channel.writeInbound(clientFrame(reserved, bytes: []))
        let close = try #require(try fixture.channel.readOutbound(as: WebSocketFrame.self))
        #expect(closeCode(close) == 1002)
    }

    @Test func pongAndStrayContinuationFramesAreIgnored() throws {
        let fixture = try HandlerFixture()
        try fixture.channel.writeInbound(clientFrame(.pong, bytes: [9]))
        try fixture.channel.writeInbound(clientFrame(.continuation, bytes: [9]))
        #expect(try fixture.channel.readOutbound(as: WebSocketFrame.self) == nil)
        #expect(fixture.handler.messages.isEmpty)
        #expect(fixture.handler.closeReason == nil)
    }

    @Test func losingTheConnectionClosesTheSession() throws {
        let fixture = try HandlerFixture()
        try fixture.channel.close().wait()
        #expect(fixture.handler.closeReason == .transportClose)
    }
}

// MARK: - Helpers

/// An EmbeddedChannel with the handler in front of a WebSocket session that echoes messages.
private struct HandlerFixture {
    let channel: EmbeddedChannel
    let engine: EngineServer
    let session: EngineSession
    let handler: RecordingSessionHandler

    init(maxMessageSize: Int = 1000, aggregate: Bool = false) throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let configuration = EngineConfiguration()
        let engine = EngineServer(configuration: configuration, delegate: RecordingEngineDelegate(),
                                  logger: Logger(label: "ws-handler-tests", factory: { _ in SwiftLogNoOpLogHandler() }))
        let handshake = EngineHandshake(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/socket.io/"),
                                        query: QueryParameters(query: "EIO=4&transport=websocket"), remoteAddress: nil)
        let session = EngineSession(server: engine, eventLoop: channel.eventLoop, transport: .websocket, handshake: handshake,
                                    configuration: configuration, pollingHeaders: [:])
        let transport = WebSocketTransport(channel: channel, maxBufferedBytes: configuration.maxBufferedBytes,
                                           flushBatch: engine.flushBatch(for: channel.eventLoop))
        try transport.install(in: channel)
        session.attachInitialWebSocket(transport)
        let handler = RecordingSessionHandler()
        session.handler = handler
        if aggregate {
            try channel.pipeline.syncOperations.addHandler(NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: maxMessageSize))
        }
        try channel.pipeline.syncOperations.addHandler(
            EngineWebSocketHandler(session: session, transport: transport, maxMessageSize: maxMessageSize))
        self.channel = channel
        self.engine = engine
        self.session = session
        self.handler = handler
    }
}

/// Keeps what the session delivers and echoes messages back.
private final class RecordingSessionHandler: EngineSessionHandler {
    var messages: [EngineMessage] = []
    var closeReason: EngineCloseReason?

    func engineSession(_ session: EngineSession, didReceive message: EngineMessage) {
        self.messages.append(message)
        session.send(EngineCodec.encode(.message(message), allocator: ByteBufferAllocator()))
    }

    func engineSession(_ session: EngineSession, didCloseWith reason: EngineCloseReason) {
        self.closeReason = reason
    }
}

/// A frame as a client sends it: masked.
private func clientFrame(_ opcode: WebSocketOpcode, bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
    let key = WebSocketMaskingKey.random()
    var data = ByteBuffer(bytes: bytes)
    data.webSocketMask(key)
    return WebSocketFrame(fin: fin, opcode: opcode, maskKey: key, data: data)
}

private func closeCode(_ frame: WebSocketFrame) -> UInt16? {
    var data = frame.unmaskedData
    return data.readInteger(as: UInt16.self)
}

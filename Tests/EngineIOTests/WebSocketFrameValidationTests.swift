@testable import EngineIO
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// `WebSocketProtocolErrorResponder` refuses client frames RFC 6455 forbids: unmasked frames and
/// frames with RSV bits set (no extension is negotiated). Found by the bad-input suite
/// (Tests/Interop/test_bad_input.py, `ws-unmasked`, `ws-rsv1`).
@Suite("WebSocket frame validation")
struct WebSocketFrameValidationTests {
    private static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(WebSocketProtocolErrorResponder())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        #expect(channel.isActive)
        return channel
    }

    private static func frame(mask: Bool = true, rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false) -> WebSocketFrame {
        var data = ByteBuffer(string: "3")
        let key: WebSocketMaskingKey? = mask ? .random() : nil
        if let key { data.webSocketMask(key) }
        return WebSocketFrame(fin: true, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: .text, maskKey: key, data: data)
    }

    @Test func maskedFramePassesThrough() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.frame())
        let read = try #require(try channel.readInbound(as: WebSocketFrame.self))
        #expect(read.unmaskedData == ByteBuffer(string: "3"))
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        #expect(channel.isActive)
    }

    @Test(arguments: [
        ("unmasked", Self.frame(mask: false)),
        ("rsv1", Self.frame(rsv1: true)),
        ("rsv2", Self.frame(rsv2: true)),
        ("rsv3", Self.frame(rsv3: true)),
    ])
    func forbiddenFrameIsRefusedWith1002(_ name: String, _ frame: WebSocketFrame) throws {
        let channel = try Self.channel()
        try channel.writeInbound(frame)
        #expect(try channel.readInbound(as: WebSocketFrame.self) == nil, "\(name) reached the next handler")
        let close = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        var payload = close.data
        #expect(payload.readInteger(as: UInt16.self) == 1002)
        #expect(payload.readString(length: payload.readableBytes) == "protocol error")
        #expect(!channel.isActive)
        // Nothing more is read once the close is under way.
        try? channel.writeInbound(Self.frame())
        #expect(try channel.readInbound(as: WebSocketFrame.self) == nil)
    }
}

import NIOCore
import NIOWebSocket

/// Reads WebSocket frames for one session (or upgrade candidate): text frames must be valid UTF-8
/// and decode as Engine.IO packets, binary frames are binary messages; control frames are answered
/// here. Everything is handed to the session on its own loop.
final class EngineWebSocketHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let session: EngineSession
    private let transport: WebSocketTransport
    private let maxMessageSize: Int
    private var closeSent = false

    init(session: EngineSession, transport: WebSocketTransport, maxMessageSize: Int) {
        self.session = session
        self.transport = transport
        self.maxMessageSize = maxMessageSize
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            guard frame.length <= self.maxMessageSize else {
                return self.close(context: context, code: .messageTooLarge)
            }
            let payload = frame.unmaskedData
            let text = payload.withUnsafeReadableBytes { String(validating: $0, as: UTF8.self) }
            guard let text else {
                return self.close(context: context, code: .dataInconsistentWithMessage)
            }
            let packet = try? EngineCodec.decode(text: text)
            self.deliver(packet)
        case .binary:
            guard frame.length <= self.maxMessageSize else {
                return self.close(context: context, code: .messageTooLarge)
            }
            self.deliver(EngineCodec.decode(binary: frame.unmaskedData))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(self.wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            self.close(context: context, code: .normalClosure)
        case .pong, .continuation:
            break
        default:
            self.close(context: context, code: .protocolError)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let session = self.session
        let transport = self.transport
        self.onSessionLoop { session.webSocketClosed(transport) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error as? NIOWebSocketFrameAggregator.Error {
        case .accumulatedFrameSizeIsTooLarge?, .tooManyFragments?:
            // Fragments past maxHttpBufferSize: the same answer as one frame too large.
            self.close(context: context, code: .messageTooLarge)
        case .some:
            self.close(context: context, code: .protocolError)
        case nil:
            context.close(promise: nil)
        }
    }

    private func deliver(_ packet: EnginePacket?) {
        let session = self.session
        let transport = self.transport
        if let packet {
            self.onSessionLoop { session.receive(packet, from: transport) }
        } else {
            self.onSessionLoop { session.receiveInvalidPacket(from: transport) }
        }
    }

    private func onSessionLoop(_ body: @escaping @Sendable () -> Void) {
        if self.session.eventLoop.inEventLoop {
            body()
        } else {
            self.session.eventLoop.execute(body)
        }
    }

    private func close(context: ChannelHandlerContext, code: WebSocketErrorCode) {
        guard !self.closeSent else { return }
        self.closeSent = true
        let reason = switch code {
        case .messageTooLarge: "message too large"
        case .dataInconsistentWithMessage: "invalid UTF-8"
        case .protocolError: "protocol error"
        default: ""
        }
        let frame = WebSocketClose.frame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(self.wrapOutboundOut(frame)).whenComplete { _ in context.close(promise: nil) }
    }
}

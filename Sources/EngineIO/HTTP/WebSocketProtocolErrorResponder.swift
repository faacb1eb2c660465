import NIOCore
import NIOWebSocket

/// After an upgrade, answers the frame decoder's errors with a close frame that carries a code and
/// a reason, then closes: a frame longer than the endpoint's limit gets 1009 "message too large"
/// (refused from its header, before its payload is buffered), any other protocol error 1002.
/// (NIO's own `WebSocketProtocolErrorHandler` sends the code only.)
final class WebSocketProtocolErrorResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var closeSent = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing more is read once the connection is being closed for a protocol error.
        guard !self.closeSent else { return }
        // RFC 6455 §5.1, §5.2: a client masks every frame, and with no extension negotiated the
        // RSV bits are 0; anything else fails the connection (1002), as the ws library does.
        let frame = self.unwrapInboundIn(data)
        guard frame.maskKey != nil, !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            self.refuse(context: context, code: .protocolError, reason: "protocol error")
            return
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? NIOWebSocketError else {
            context.fireErrorCaught(error)
            return
        }
        guard !self.closeSent else { return }
        let (code, reason): (WebSocketErrorCode, String) = switch error {
        case .invalidFrameLength: (.messageTooLarge, "message too large")
        case .fragmentedControlFrame, .multiByteControlFrameLength: (.protocolError, "protocol error")
        }
        self.refuse(context: context, code: code, reason: reason)
    }

    /// Sends the close frame with `code` and `reason`, then closes the connection.
    private func refuse(context: ChannelHandlerContext, code: WebSocketErrorCode, reason: String) {
        self.closeSent = true
        let frame = WebSocketClose.frame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(self.wrapOutboundOut(frame)).whenComplete { _ in context.close(promise: nil) }
    }
}

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
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? NIOWebSocketError else {
            context.fireErrorCaught(error)
            return
        }
        guard !self.closeSent else { return }
        self.closeSent = true
        let (code, reason): (WebSocketErrorCode, String) = switch error {
        case .invalidFrameLength: (.messageTooLarge, "message too large")
        case .fragmentedControlFrame, .multiByteControlFrameLength: (.protocolError, "protocol error")
        }
        let frame = WebSocketClose.frame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(self.wrapOutboundOut(frame)).whenComplete { _ in context.close(promise: nil) }
    }
}

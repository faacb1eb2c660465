import NIOCore

/// Sits before the HTTP decoder and tells the router when raw bytes arrive, so the head clock starts
/// at a request's first byte rather than when the decoder has the whole head.
final class HTTPByteActivityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: HTTPRequestRouter
    private var context: ChannelHandlerContext?

    init(router: HTTPRequestRouter) {
        self.router = router
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes `bytes` straight to the socket (past the HTTP codec), then closes the connection.
    func writeAndClose(_ bytes: ByteBuffer) {
        guard let context else { return }
        context.writeAndFlush(self.wrapOutboundOut(bytes)).whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.router.bytesArrived()
        context.fireChannelRead(data)
    }
}

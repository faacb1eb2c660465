import NIOCore

/// Sits before the HTTP decoder and tells the router when raw bytes arrive, so the head clock starts
/// at a request's first byte rather than when the decoder has the whole head. It also does the
/// lingering close after an error answer (``lingerAndClose(timeout:maxBytes:)``).
final class HTTPByteActivityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: HTTPRequestRouter
    private var context: ChannelHandlerContext?
    /// While lingering: the bytes the client may still send before the connection is closed.
    private var lingerBudget: Int?

    /// How long a lingering close waits for the client to stop sending. Default 2 s.
    static let lingerTimeout = TimeAmount.seconds(2)
    /// How much a lingering close reads (and drops) before it closes anyway. Default 16 MiB.
    static let lingerMaxBytes = 16 << 20

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

    /// Closes after an error answer the client may not have finished sending its request for (413
    /// while the body is still coming, 431, 400), as nginx's lingering close does: closing at once
    /// with unread bytes makes the kernel send a reset, which can destroy the answer before the
    /// client reads it. Instead the write side is shut (the client sees the answer, then the end),
    /// and whatever still arrives is read and dropped until the client closes, `maxBytes` were
    /// dropped, or `timeout` passes; then the connection closes.
    func lingerAndClose(timeout: TimeAmount = HTTPByteActivityHandler.lingerTimeout,
                        maxBytes: Int = HTTPByteActivityHandler.lingerMaxBytes) {
        guard let context, self.lingerBudget == nil else { return }
        self.lingerBudget = maxBytes
        let channel = context.channel
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in deadline.cancel() }
        let halfClosed = channel.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let budget = self.lingerBudget {
            let remaining = budget - self.unwrapInboundIn(data).readableBytes
            self.lingerBudget = remaining
            if remaining < 0 {
                context.close(promise: nil)
            }
            return
        }
        self.router.bytesArrived()
        context.fireChannelRead(data)
    }
}

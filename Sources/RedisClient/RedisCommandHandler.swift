import NIOCore

/// Matches replies to commands first-in first-out on one channel (pipelining: any number of
/// commands may be in flight). A reply that no command waits for (pub/sub pushes) goes to
/// `onPush`. When the channel closes or fails, every waiting command fails with
/// ``RedisClientError/connectionLost``.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisCommandHandler.Request
    typealias OutboundOut = RESPValue

    /// A command and, unless it expects no reply of its own (SUBSCRIBE), the promise of its reply.
    struct Request {
        var command: RESPValue
        var promise: EventLoopPromise<RESPValue>?
    }

    private var waiting = CircularBuffer<EventLoopPromise<RESPValue>>()
    private let onPush: @Sendable (RESPValue) -> Void
    private let onClose: @Sendable (any Error) -> Void
    private var closed = false

    init(onPush: @escaping @Sendable (RESPValue) -> Void = { _ in }, onClose: @escaping @Sendable (any Error) -> Void) {
        self.onPush = onPush
        self.onClose = onClose
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        if self.closed {
            request.promise?.fail(RedisClientError.connectionLost)
            promise?.fail(RedisClientError.connectionLost)
            return
        }
        if let reply = request.promise {
            self.waiting.append(reply)
        }
        context.write(self.wrapOutboundOut(request.command), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = self.unwrapInboundIn(data)
        guard let promise = self.waiting.popFirst() else {
            self.onPush(value)
            return
        }
        if case .error(let message) = value {
            promise.fail(RedisServerError(message: message))
        } else {
            promise.succeed(value)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(RedisClientError.connectionLost)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A framing error (or I/O error): nothing later on this stream can be trusted.
        self.failAll(RedisClientError.connectionLost, cause: error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisClientError, cause: (any Error)? = nil) {
        guard !self.closed else { return }
        self.closed = true
        // The owner learns of the loss first, so a command re-sent from a failure callback below is
        // refused by its state, not written to this dead channel.
        self.onClose(cause ?? error)
        while let promise = self.waiting.popFirst() {
            promise.fail(error)
        }
    }
}

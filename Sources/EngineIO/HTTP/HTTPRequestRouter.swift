import NIOCore
import NIOHTTP1

/// One per HTTP connection: gathers a request (bounded by the endpoint's body limit, checked before
/// buffering), hands it to the matching ``HTTPEndpoint`` with a sink, and writes the answer.
final class HTTPRequestRouter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(head: HTTPRequestHead, endpoint: (any HTTPEndpoint)?, body: ByteBuffer?)
        /// The body passed the limit: 413 was sent, the rest is dropped and the connection closes.
        case discarding
        case awaitingResponse(keepAlive: Bool)
        case closed
    }

    private let endpoints: [any HTTPEndpoint]
    private let fallbackBodyLimit: Int
    private var state = State.idle
    private var sequence: UInt64 = 0
    private var cancelCallback: (@Sendable () -> Void)?
    private var context: ChannelHandlerContext?

    init(endpoints: [any HTTPEndpoint], fallbackBodyLimit: Int) {
        self.endpoints = endpoints
        self.fallbackBodyLimit = fallbackBodyLimit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = self.state else { return }
            let path = RequestTarget(uri: head.uri).path
            let endpoint = self.endpoints.first(where: { $0.matches(path: path) })
            let limit = endpoint?.maxRequestBodySize ?? self.fallbackBodyLimit
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limit {
                self.refuseTooLarge(context: context, head: head, endpoint: endpoint)
                return
            }
            self.state = .receiving(head: head, endpoint: endpoint, body: nil)
        case .body(var chunk):
            guard case .receiving(let head, let endpoint, var body) = self.state else { return }
            let limit = endpoint?.maxRequestBodySize ?? self.fallbackBodyLimit
            if (body?.readableBytes ?? 0) + chunk.readableBytes > limit {
                self.refuseTooLarge(context: context, head: head, endpoint: endpoint)
                return
            }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            self.state = .receiving(head: head, endpoint: endpoint, body: body)
        case .end:
            guard case .receiving(let head, let endpoint, let body) = self.state else { return }
            self.sequence &+= 1
            self.state = .awaitingResponse(keepAlive: head.isKeepAlive)
            let request = HTTPServerRequest(head: head, body: body, remoteAddress: context.channel.remoteAddress)
            let sink = HTTPResponseSink(router: self, eventLoop: context.eventLoop, sequence: self.sequence)
            if let endpoint {
                endpoint.handle(request, sink: sink)
            } else {
                sink.send(.json(.notFound, #"{"error":"not found","message":"no such route"}"#))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state = .closed
        let callback = self.cancelCallback
        self.cancelCallback = nil
        callback?()
        context.fireChannelInactive()
    }

    private func refuseTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead, endpoint: (any HTTPEndpoint)?) {
        self.state = .discarding
        endpoint?.requestBodyTooLarge(head)
        self.write(.json(.payloadTooLarge, #"{"error":"payload too large","message":"the request body is larger than this endpoint accepts"}"#), keepAlive: false, context: context)
    }

    /// Writes `response` if it answers the request still waiting (`sequence`).
    func respond(_ response: HTTPServerResponse, sequence: UInt64) {
        guard sequence == self.sequence, case .awaitingResponse(let keepAlive) = self.state, let context else { return }
        self.cancelCallback = nil
        self.state = .idle
        self.write(response, keepAlive: keepAlive && !response.closeConnection, context: context)
    }

    func setCancelCallback(_ callback: @escaping @Sendable () -> Void, sequence: UInt64) {
        guard sequence == self.sequence else { return }
        switch self.state {
        case .awaitingResponse:
            self.cancelCallback = callback
        case .closed:
            callback()
        case .idle, .receiving, .discarding:
            break
        }
    }

    private func write(_ response: HTTPServerResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body?.readableBytes ?? 0))
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        }
        let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if let body = response.body, body.readableBytes > 0 {
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            self.state = .discarding
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}

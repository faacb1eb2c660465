import NIOCore
import NIOHTTP1

/// One per HTTP connection: gathers a request (bounded by the endpoint's body limit, checked before
/// buffering), hands it to the matching ``HTTPEndpoint`` with a sink, and writes the answer.
///
/// It also keeps the connection's clocks (``HTTPServer/Configuration``): between requests the
/// connection may idle `keepAliveTimeout` (then it is closed); once the first byte of a request
/// arrives, its head must be complete within `requestHeadTimeout` (else 408 and close). No clock runs
/// while a request is being answered, so a long-poll GET waits as long as its session wants; an
/// upgraded WebSocket removes the router and its clocks. A head larger than `maxHeaderSize` (the
/// decoder's limit) is answered 431, other malformed requests 400; both close the connection.
///
/// A streaming response (``HTTPResponseStream``) keeps the connection in the streaming state: no
/// clock runs, further requests on the connection are ignored, and the connection closes when the
/// stream ends (``HTTPServer/closeConnections(until:)`` ends it too).
final class HTTPRequestRouter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The clocks of one connection.
    struct Timeouts: Sendable {
        /// Time from the first byte of a request to the end of its head.
        var requestHead: TimeAmount
        /// Time a connection may idle between requests (or before the first).
        var keepAlive: TimeAmount
    }

    private enum State {
        case idle
        case receiving(head: HTTPRequestHead, endpoint: (any HTTPEndpoint)?, body: ByteBuffer?)
        /// The body passed the limit: 413 was sent, the rest is dropped and the connection closes.
        case discarding
        case awaitingResponse(keepAlive: Bool)
        /// A streaming response is being written; the connection closes when it ends.
        case streaming
        case closed
    }

    private enum Clock {
        case none
        case keepAlive
        case requestHead
    }

    private let endpoints: [any HTTPEndpoint]
    private let fallbackBodyLimit: Int
    private let timeouts: Timeouts
    private let refusals: RefusalCounter?
    private var state = State.idle
    private var sequence: UInt64 = 0
    private var cancelCallback: (@Sendable () -> Void)?
    private var context: ChannelHandlerContext?
    private var clock = Clock.none
    private var timer: Scheduled<Void>?
    /// Set by ``HTTPServer/closeConnections(until:)``: finish the request in progress, then close.
    private var closeWhenIdle = false
    /// The HTTP version of the request being answered (a streaming head answers in it).
    private var requestVersion = HTTPVersion.http1_1
    /// The streaming response in progress, until the connection closes.
    private var stream: HTTPResponseStream?
    /// The handler before the HTTP codec: the 408 goes out through it as raw bytes, since no request
    /// exists that the codec could answer.
    weak var rawOutput: HTTPByteActivityHandler?

    init(endpoints: [any HTTPEndpoint], fallbackBodyLimit: Int,
         timeouts: Timeouts = Timeouts(requestHead: .seconds(10), keepAlive: .seconds(30)),
         refusals: RefusalCounter? = nil) {
        self.endpoints = endpoints
        self.fallbackBodyLimit = fallbackBodyLimit
        self.timeouts = timeouts
        self.refusals = refusals
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.startClock(.keepAlive, context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stopClock()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .idle = self.state, case .none = self.clock {
            self.startClock(.keepAlive, context: context)
        }
        context.fireChannelActive()
    }

    /// Raw bytes arrived (from ``HTTPByteActivityHandler``, before the decoder). Between requests
    /// they are the start of the next head: its clock starts.
    func bytesArrived() {
        guard case .idle = self.state, let context else { return }
        if case .requestHead = self.clock { return }
        self.startClock(.requestHead, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is HTTPServer.CloseWhenIdleEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        self.closeWhenIdle = true
        switch self.state {
        case .idle:
            self.state = .closed
            self.stopClock()
            context.close(promise: nil)
        case .streaming:
            self.stream?.ending()
            self.endStream()
        case .receiving, .discarding, .awaitingResponse, .closed:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = self.state else { return }
            self.stopClock()
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
            self.requestVersion = head.version
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
        self.stopClock()
        let callback = self.cancelCallback
        self.cancelCallback = nil
        callback?()
        let stream = self.stream
        self.stream = nil
        stream?.connectionClosed()
        context.fireChannelInactive()
    }

    /// Malformed requests (the decoder's errors): 431 for a head past the size limit, 400 for the
    /// rest, then close. If a response is in progress the connection just closes after it.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let tooLarge = parserError == .headerOverflow
        if tooLarge {
            self.refusals?.record(.headerTooLarge)
        }
        switch self.state {
        case .idle, .receiving:
            self.stopClock()
            let response: HTTPServerResponse = tooLarge
                ? .json(.requestHeaderFieldsTooLarge, #"{"error":"request header fields too large","message":"the request line and headers are larger than this server accepts"}"#)
                : .json(.badRequest, #"{"error":"bad request","message":"malformed HTTP request"}"#)
            self.write(response, keepAlive: false, linger: true, context: context)
        case .awaitingResponse:
            self.closeWhenIdle = true
        case .streaming:
            self.stream?.ending()
            self.endStream()
        case .discarding, .closed:
            break
        }
    }

    private func refuseTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead, endpoint: (any HTTPEndpoint)?) {
        self.state = .discarding
        endpoint?.requestBodyTooLarge(head)
        self.write(.json(.payloadTooLarge, #"{"error":"payload too large","message":"the request body is larger than this endpoint accepts"}"#), keepAlive: false,
                   linger: true, context: context)
    }

    /// Writes `response` if it answers the request still waiting (`sequence`).
    func respond(_ response: HTTPServerResponse, sequence: UInt64) {
        guard sequence == self.sequence, case .awaitingResponse(let keepAlive) = self.state, let context else { return }
        self.cancelCallback = nil
        self.state = .idle
        self.write(response, keepAlive: keepAlive && !response.closeConnection && !self.closeWhenIdle, context: context)
        if case .idle = self.state {
            self.startClock(.keepAlive, context: context)
        }
    }

    // MARK: Streaming responses

    /// Starts a streaming response to the request still waiting (`sequence`): writes the head and
    /// returns the stream, or `nil` if the request was already answered or the connection is gone.
    /// During a drain the stream is ended at once (the client gets the head and an empty body).
    func startStream(status: HTTPResponseStatus, headers: HTTPHeaders, sequence: UInt64,
                     writeBufferWaterMark: ChannelOptions.Types.WriteBufferWaterMark?) -> HTTPResponseStream? {
        guard sequence == self.sequence, case .awaitingResponse = self.state, let context else { return nil }
        self.cancelCallback = nil
        self.state = .streaming
        if let writeBufferWaterMark {
            context.channel.setOption(ChannelOptions.writeBufferWaterMark, value: writeBufferWaterMark).whenFailure { _ in }
        }
        let stream = HTTPResponseStream(router: self, eventLoop: context.eventLoop, remoteAddress: context.channel.remoteAddress)
        self.stream = stream
        var headers = headers
        headers.remove(name: "Content-Length")
        headers.remove(name: "Transfer-Encoding")
        headers.replaceOrAdd(name: "Connection", value: "close")
        let version: HTTPVersion = self.requestVersion == .http1_0 ? .http1_0 : .http1_1
        context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))),
                              promise: nil)
        if self.closeWhenIdle {
            stream.ending()
            self.endStream()
        }
        return stream
    }

    /// Whether the connection's outbound buffer is below its high-water mark.
    var channelIsWritable: Bool {
        self.context?.channel.isWritable ?? false
    }

    /// The next part of a streaming body (unflushed).
    func streamWrite(_ bytes: ByteBuffer) {
        guard case .streaming = self.state, let context else { return }
        context.write(self.wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
    }

    /// Flushes a streaming body.
    func streamFlush() {
        guard case .streaming = self.state, let context else { return }
        context.flush()
    }

    /// Ends a streaming body, then closes the connection once everything is written, or after
    /// ``HTTPResponseStream/closeGracePeriod`` at the latest (a client that stops reading would
    /// otherwise hold it open).
    func endStream() {
        guard case .streaming = self.state, let context else { return }
        self.state = .discarding
        let channel = context.channel
        let deadline = channel.eventLoop.scheduleTask(in: HTTPResponseStream.closeGracePeriod) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in deadline.cancel() }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func setCancelCallback(_ callback: @escaping @Sendable () -> Void, sequence: UInt64) {
        guard sequence == self.sequence else { return }
        switch self.state {
        case .awaitingResponse:
            self.cancelCallback = callback
        case .closed:
            callback()
        case .idle, .receiving, .discarding, .streaming:
            break
        }
    }

    // MARK: Clocks

    private func startClock(_ clock: Clock, context: ChannelHandlerContext) {
        self.stopClock()
        let delay: TimeAmount
        switch clock {
        case .none: return
        case .keepAlive: delay = self.timeouts.keepAlive
        case .requestHead: delay = self.timeouts.requestHead
        }
        self.clock = clock
        let router = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: delay) {
            router.value.clockExpired(clock)
        }
    }

    private func stopClock() {
        self.timer?.cancel()
        self.timer = nil
        self.clock = .none
    }

    private func clockExpired(_ clock: Clock) {
        self.timer = nil
        self.clock = .none
        guard case .idle = self.state, let context else { return }
        switch clock {
        case .none:
            break
        case .keepAlive:
            // Idle between requests: close quietly, as any HTTP server may.
            self.state = .closed
            context.close(promise: nil)
        case .requestHead:
            self.refusals?.record(.requestHeadTimeout)
            self.state = .closed
            let body = #"{"error":"request timeout","message":"the request head was not received in time"}"#
            let response = "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
            if let rawOutput {
                rawOutput.writeAndClose(ByteBuffer(string: response))
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// Writes `response`. Without `keepAlive` the connection then closes: at once, or with `linger`
    /// (an answer sent before the request was read to its end) by a lingering close
    /// (``HTTPByteActivityHandler/lingerAndClose(timeout:maxBytes:)``), so the client reads the answer.
    private func write(_ response: HTTPServerResponse, keepAlive: Bool, linger: Bool = false, context: ChannelHandlerContext) {
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
            let rawOutput = linger ? self.rawOutput.map { NIOLoopBound($0, eventLoop: context.eventLoop) } : nil
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
                if let rawOutput {
                    rawOutput.value.lingerAndClose()
                } else {
                    context.close(promise: nil)
                }
            }
        }
    }
}

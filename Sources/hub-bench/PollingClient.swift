import NIOCore
import NIOHTTP1

/// One Socket.IO client on Engine.IO long-polling: one keep-alive connection that always has a
/// GET waiting, and one for POSTs (one in flight; packets queued meanwhile go out together,
/// joined with \x1e). A server that closes the connection after a response (`Connection: close`,
/// as Werkzeug's development server does) gets a new connection for the next request, as a
/// browser would open one. Lives on its shard's loop.
final class PollingClient: EchoSender, @unchecked Sendable {  // loop-confined
    enum State { case opening, connecting, ready, closed }

    let shard: Shard
    let globalIndex: Int
    private var ready: EventLoopPromise<Void>?
    private let startNanos = monotonicNanos()
    private(set) var state = State.opening
    private var sid = ""
    fileprivate var getHandler: PollHTTPHandler?
    fileprivate var postHandler: PollHTTPHandler?
    private var getBody: ByteBuffer
    private var outbox: ByteBuffer
    private var postInFlight = false
    private var getInFlight = false

    // echo
    private var nextAckID: UInt64 = 1
    private(set) var outstanding = 0
    private var sendTimes: [UInt64] = Array(repeating: 0, count: WSClient.maxOutstanding)

    init(shard: Shard, globalIndex: Int, ready: EventLoopPromise<Void>) {
        self.shard = shard
        self.globalIndex = globalIndex
        self.ready = ready
        self.getBody = ByteBufferAllocator().buffer(capacity: 256)
        self.outbox = ByteBufferAllocator().buffer(capacity: 256)
    }

    func start() {
        shard.pollClients.append(self)
        shard.echoSenders.append(self)
        let timeout = shard.loop.scheduleTask(in: .seconds(30)) { [self] in
            if self.state != .ready { self.fail(BenchError.protocolError("polling handshake timed out")) }
        }
        ready?.futureResult.whenComplete { _ in timeout.cancel() }
        let get = connect(isGet: true)
        let post = connect(isGet: false)
        get.and(post).whenComplete { [self] result in
            switch result {
            case .success:
                self.sendGet()  // the handshake: answered with the open packet
            case .failure(let error):
                self.fail(error)
            }
        }
    }

    private func connect(isGet: Bool) -> EventLoopFuture<Void> {
        let box = UncheckedBox(self)
        return shard.bootstrap(bindIndex: globalIndex)
            .channelInitializer { channel in
                do {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let handler = PollHTTPHandler(client: box.value, isGet: isGet)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(to: shard.config.serverAddress)
            .map { _ in }
    }

    func close() -> [EventLoopFuture<Void>] {
        state = .closed
        return [getHandler, postHandler].compactMap { handler in
            handler?.context?.channel.close().recover { _ in }
        }
    }

    private func fail(_ error: Error) {
        if let ready {
            self.ready = nil
            ready.fail(error)
            state = .closed
            _ = close()
        }
    }

    // MARK: requests

    private var uri: String {
        sid.isEmpty ? shard.config.pollingPath : shard.config.pollingPath + "&sid=" + sid
    }

    private func sendGet() {
        guard state != .closed, let handler = getHandler, let context = handler.context, !getInFlight else { return }
        getInFlight = true
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri)
        head.headers.add(name: "Host", value: shard.config.hostHeader)
        context.write(handler.wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Queues one packet for the next POST.
    private func enqueue(_ build: (inout ByteBuffer) -> Void) {
        if outbox.readableBytes > 0 { outbox.writeInteger(ASCII.recordSeparator) }
        build(&outbox)
        flushOutbox()
    }

    private func flushOutbox() {
        guard !postInFlight, outbox.readableBytes > 0, state != .closed,
              let handler = postHandler, let context = handler.context else { return }
        postInFlight = true
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: uri)
        head.headers.add(name: "Host", value: shard.config.hostHeader)
        head.headers.add(name: "Content-Type", value: "text/plain;charset=UTF-8")
        head.headers.add(name: "Content-Length", value: String(outbox.readableBytes))
        let body = outbox
        outbox = context.channel.allocator.buffer(capacity: 256)
        context.write(handler.wrapOutboundOut(.head(head)), promise: nil)
        context.write(handler.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
    }

    // MARK: responses

    fileprivate func response(handler: PollHTTPHandler, part: HTTPClientResponsePart) {
        let isGet = handler.isGet
        switch part {
        case .head(let head):
            if head.version == .http1_0 || head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                handler.closeExpected = true
            }
            if head.status != .ok {
                if state == .ready && !shard.shuttingDown { shard.errors += 1 }
                fail(BenchError.protocolError("polling \(isGet ? "GET" : "POST") answered \(head.status.code)"))
            }
        case .body(var body):
            if isGet { getBody.writeBuffer(&body) }
        case .end:
            if handler.closeExpected {
                // The server closes this connection: the next request goes on a new one (`closed`).
                if isGet { getHandler = nil } else { postHandler = nil }
            }
            if isGet {
                getInFlight = false
                handlePayload()
                getBody.clear()
                if state != .closed { sendGet() }
            } else {
                postInFlight = false
                flushOutbox()
            }
        }
    }

    fileprivate func closed(handler: PollHTTPHandler) {
        if handler.closeExpected && state != .closed && !shard.shuttingDown {
            let isGet = handler.isGet
            connect(isGet: isGet).whenComplete { [self] result in
                switch result {
                case .success:
                    if isGet { self.sendGet() } else { self.flushOutbox() }
                case .failure(let error):
                    if self.state == .ready { self.shard.errors += 1 }
                    self.fail(error)
                    self.state = .closed
                }
            }
            return
        }
        if state == .ready && !shard.shuttingDown { shard.errors += 1 }
        fail(BenchError.protocolError("polling connection closed"))
        state = .closed
    }

    /// Packets of one GET response, separated by \x1e.
    private func handlePayload() {
        let body = getBody
        body.withUnsafeReadableBytes { raw in
            var start = 0
            while start <= raw.count {
                var end = start
                while end < raw.count && raw[end] != ASCII.recordSeparator { end += 1 }
                if end > start { packet(UnsafeRawBufferPointer(rebasing: raw[start..<end])) }
                start = end + 1
            }
        }
    }

    private func packet(_ p: UnsafeRawBufferPointer) {
        switch p[0] {
        case ASCII.zero where state == .opening:
            // open: {"sid":"…",…}
            guard let at = p.find("\"sid\":\"") else {
                fail(BenchError.protocolError("no sid in the open packet"))
                return
            }
            var end = at + 7
            while end < p.count && p[end] != ASCII.quote { end += 1 }
            sid = String(decoding: UnsafeRawBufferPointer(rebasing: p[(at + 7)..<end]), as: UTF8.self)
            state = .connecting
            enqueue { $0.writeStaticString("40") }
        case ASCII.two:
            shard.pings += 1
            enqueue { $0.writeInteger(ASCII.three) }
        case ASCII.four where p.count >= 2:
            if p[1] == ASCII.zero && state == .connecting {
                state = .ready
                shard.connects += 1
                shard.connectHistogram.record(nanos: monotonicNanos() &- startNanos)
                if let ready {
                    self.ready = nil
                    ready.succeed(())
                }
            } else if p[1] == ASCII.three, let (id, _) = p.parseUInt(at: 2) {
                ack(id)
            } else if p[1] == ASCII.four {
                fail(BenchError.protocolError("CONNECT_ERROR from the server"))
            }
        case ASCII.one:
            state = .closed
            _ = close()
        default:
            break
        }
    }

    // MARK: echo

    func sendEcho() {
        guard state == .ready else { return }
        if outstanding >= WSClient.maxOutstanding {
            shard.skipped += 1
            return
        }
        let id = nextAckID
        nextAckID += 1
        outstanding += 1
        shard.sent += 1
        sendTimes[Int(id % UInt64(WSClient.maxOutstanding))] = monotonicNanos()
        let tail = shard.config.echoTail
        enqueue { b in
            b.writeStaticString("42")
            b.writeDecimal(id)
            b.writeImmutableBuffer(tail)
        }
    }

    private func ack(_ id: UInt64) {
        guard outstanding > 0 else { return }
        outstanding -= 1
        shard.rttHistogram.record(nanos: monotonicNanos() &- sendTimes[Int(id % UInt64(WSClient.maxOutstanding))])
        if shard.measuring { shard.acks += 1 } else { shard.lateAcks += 1 }
        if shard.sending && shard.config.parameters.rate <= 0 { sendEcho() }
    }
}

/// One HTTP connection of a polling client.
final class PollHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let client: PollingClient
    let isGet: Bool
    fileprivate var context: ChannelHandlerContext?
    /// The server said it closes the connection after this response.
    fileprivate var closeExpected = false

    init(client: PollingClient, isGet: Bool) {
        self.client = client
        self.isGet = isGet
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if isGet { client.getHandler = self } else { client.postHandler = self }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.response(handler: self, part: unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.closed(handler: self)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Carries a loop-confined object into a @Sendable closure that runs on the same loop.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

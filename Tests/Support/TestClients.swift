// Small async NIO clients for tests over real loopback sockets: plain HTTP/1.1 and WebSocket.
//
// Self-contained on purpose (NIOCore, NIOConcurrencyHelpers, NIOPosix, NIOHTTP1, NIOWebSocket and
// Foundation only) so other test targets can copy this file as is. Every wait has a timeout that
// only guards against a hang: it fails the test with `TestClientError.timedOut` instead.

import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Why a test client gave up.
package enum TestClientError: Error, CustomStringConvertible {
    /// Nothing arrived in time.
    case timedOut(String)
    /// The connection closed while something was still expected.
    case connectionClosed
    /// The server answered a WebSocket upgrade request with a plain HTTP response.
    case upgradeRefused(TestHTTPResponse)
    /// Something arrived that the caller did not expect.
    case unexpected(String)

    package var description: String {
        switch self {
        case .timedOut(let what): "timed out waiting for \(what)"
        case .connectionClosed: "the connection closed"
        case .upgradeRefused(let response): "upgrade refused: \(response.status.code) \(response.text)"
        case .unexpected(let what): "unexpected: \(what)"
        }
    }
}

/// The default guard for every wait. Generous: it only bounds a hang.
package let testClientTimeout = TimeAmount.seconds(5)

/// Waits for `future`, failing with ``TestClientError/timedOut(_:)`` after `timeout`.
package func awaitWithTimeout<Value: Sendable>(
    _ future: EventLoopFuture<Value>, timeout: TimeAmount = testClientTimeout, _ what: String
) async throws -> Value {
    let promise = future.eventLoop.makePromise(of: Value.self)
    future.cascade(to: promise)
    let timer = future.eventLoop.scheduleTask(in: timeout) { promise.fail(TestClientError.timedOut(what)) }
    defer { timer.cancel() }
    return try await promise.futureResult.get()
}

// MARK: - Async queue

/// A thread-safe FIFO that channel handlers push into and one test task reads from, with a timeout
/// per read. After ``finish()`` the buffered elements are still delivered, then reads throw
/// ``TestClientError/connectionClosed``.
package final class TestAsyncQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var finished = false
        var waiter: (id: Int, continuation: CheckedContinuation<Element, any Error>)?
        var nextWaiterID = 0
    }

    private enum Dequeue {
        case element(Element)
        case closed
        case waiting(Int)
    }

    private let state = NIOLockedValueBox(State())
    /// Runs the read timeouts; the singleton outlives any group a test shuts down.
    private let timerLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any()

    package init() {}

    package func push(_ element: Element) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Element, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.buffer.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    package func finish() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Element, any Error>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(throwing: TestClientError.connectionClosed)
    }

    /// Whether nothing is buffered.
    package var isEmpty: Bool { self.state.withLockedValue { $0.buffer.isEmpty } }

    /// The next element; one reader at a time.
    /// The next `count` elements, in order.
    package func next(_ count: Int, timeout: TimeAmount = testClientTimeout, _ what: String) async throws -> [Element] {
        var elements: [Element] = []
        for _ in 0..<count {
            elements.append(try await self.next(timeout: timeout, what))
        }
        return elements
    }

    /// The next element; one reader at a time.
    package func next(timeout: TimeAmount = testClientTimeout, _ what: String) async throws -> Element {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = self.state.withLockedValue { state -> Dequeue in
                if !state.buffer.isEmpty { return .element(state.buffer.removeFirst()) }
                if state.finished { return .closed }
                precondition(state.waiter == nil, "TestAsyncQueue has one reader at a time")
                state.nextWaiterID += 1
                state.waiter = (state.nextWaiterID, continuation)
                return .waiting(state.nextWaiterID)
            }
            switch outcome {
            case .element(let element):
                continuation.resume(returning: element)
            case .closed:
                continuation.resume(throwing: TestClientError.connectionClosed)
            case .waiting(let id):
                self.timerLoop.scheduleTask(in: timeout) { self.timeOut(waiter: id, what) }
            }
        }
    }

    private func timeOut(waiter id: Int, _ what: String) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Element, any Error>? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(throwing: TestClientError.timedOut(what))
    }
}

// MARK: - HTTP

/// A complete HTTP response.
package struct TestHTTPResponse: Sendable {
    package var head: HTTPResponseHead
    package var body: ByteBuffer

    package var status: HTTPResponseStatus { self.head.status }
    package var headers: HTTPHeaders { self.head.headers }
    /// The body as UTF-8 text.
    package var text: String { String(buffer: self.body) }
    /// The body bytes.
    package var bytes: [UInt8] { Array(self.body.readableBytesView) }

    /// The body parsed as a JSON object.
    package func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(self.bytes)) as? [String: Any] else {
            throw TestClientError.unexpected("body is not a JSON object: \(self.text)")
        }
        return object
    }
}

/// Gathers response parts into ``TestHTTPResponse``s.
private final class HTTPResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPClientResponsePart

    private let responses: TestAsyncQueue<TestHTTPResponse>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    package init(responses: TestAsyncQueue<TestHTTPResponse>) {
        self.responses = responses
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
        case .body(var chunk):
            self.body.writeBuffer(&chunk)
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            self.responses.push(TestHTTPResponse(head: head, body: self.body))
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        self.responses.finish()
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// One client HTTP/1.1 connection: requests go out as written, responses come back in order.
package final class TestHTTPConnection: Sendable {
    package let channel: Channel
    private let responses: TestAsyncQueue<TestHTTPResponse>

    private init(channel: Channel, responses: TestAsyncQueue<TestHTTPResponse>) {
        self.channel = channel
        self.responses = responses
    }

    /// Opens a connection to `address`.
    package static func connect(to address: SocketAddress, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> TestHTTPConnection {
        let responses = TestAsyncQueue<TestHTTPResponse>()
        let connect = ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPResponseCollector(responses: responses))
                }
            }
            .connect(to: address)
        let channel = try await awaitWithTimeout(connect, "connecting to \(address)")
        return TestHTTPConnection(channel: channel, responses: responses)
    }

    /// Writes a request without waiting for its answer. A body gets a `Content-Length`; so does a
    /// bodyless POST.
    package func send(_ method: HTTPMethod = .GET, _ uri: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        if !head.headers.contains(name: "Host") { head.headers.add(name: "Host", value: "localhost") }
        if let body {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else if method == .POST || method == .PUT {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        self.channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, body.readableBytes > 0 {
            self.channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        }
        self.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// Writes a request with a text body without waiting for its answer.
    package func send(_ method: HTTPMethod = .GET, _ uri: String, headers: HTTPHeaders = [:], body: String) {
        self.send(method, uri, headers: headers, body: ByteBuffer(string: body))
    }

    /// The next response on this connection.
    package func response(timeout: TimeAmount = testClientTimeout) async throws -> TestHTTPResponse {
        try await self.responses.next(timeout: timeout, "an HTTP response")
    }

    /// Sends a request and waits for its response.
    package func request(_ method: HTTPMethod = .GET, _ uri: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil,
                 timeout: TimeAmount = testClientTimeout) async throws -> TestHTTPResponse {
        self.send(method, uri, headers: headers, body: body)
        return try await self.response(timeout: timeout)
    }

    /// Sends a request with a text body and waits for its response.
    package func request(_ method: HTTPMethod = .GET, _ uri: String, headers: HTTPHeaders = [:], body: String,
                 timeout: TimeAmount = testClientTimeout) async throws -> TestHTTPResponse {
        try await self.request(method, uri, headers: headers, body: ByteBuffer(string: body), timeout: timeout)
    }

    /// Waits until the server (or anything) closes the connection.
    package func waitForClose(timeout: TimeAmount = testClientTimeout) async throws {
        try await awaitWithTimeout(self.channel.closeFuture, timeout: timeout, "the connection to close")
    }

    /// Closes the connection (a request still waiting for its answer is aborted).
    package func close() async {
        try? await self.channel.close()
    }
}

/// Fire-and-forget HTTP: each request on a fresh connection, closed after its response.
package struct TestHTTPClient: Sendable {
    package let address: SocketAddress
    package var group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    package init(address: SocketAddress, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.address = address
        self.group = group
    }

    /// Opens a connection the caller manages.
    package func connect() async throws -> TestHTTPConnection {
        try await TestHTTPConnection.connect(to: self.address, group: self.group)
    }

    /// Sends one request on a fresh connection and returns its response.
    package func request(_ method: HTTPMethod = .GET, _ uri: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil,
                 timeout: TimeAmount = testClientTimeout) async throws -> TestHTTPResponse {
        let connection = try await self.connect()
        do {
            let response = try await connection.request(method, uri, headers: headers, body: body, timeout: timeout)
            await connection.close()
            return response
        } catch {
            await connection.close()
            throw error
        }
    }

    package func get(_ uri: String, headers: HTTPHeaders = [:], timeout: TimeAmount = testClientTimeout) async throws -> TestHTTPResponse {
        try await self.request(.GET, uri, headers: headers, timeout: timeout)
    }

    package func post(_ uri: String, body: String, headers: HTTPHeaders = [:], timeout: TimeAmount = testClientTimeout) async throws -> TestHTTPResponse {
        try await self.request(.POST, uri, headers: headers, body: ByteBuffer(string: body), timeout: timeout)
    }
}

// MARK: - WebSocket

/// A frame received by ``TestWebSocket``.
package enum TestWebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    /// A close frame and its status code, if it carried one.
    case close(code: UInt16?)
    case ping([UInt8])
    case pong([UInt8])

    package init(_ frame: WebSocketFrame) {
        var data = frame.unmaskedData
        switch frame.opcode {
        case .text: self = .text(String(decoding: data.readableBytesView, as: UTF8.self))
        case .connectionClose: self = .close(code: data.readInteger(as: UInt16.self))
        case .ping: self = .ping(Array(data.readableBytesView))
        case .pong: self = .pong(Array(data.readableBytesView))
        default: self = .binary(Array(data.readableBytesView))
        }
    }
}

/// Hands every WebSocket frame to the queue.
private final class WebSocketFrameCollector: ChannelInboundHandler {
    package typealias InboundIn = WebSocketFrame

    private let messages: TestAsyncQueue<TestWebSocketMessage>

    package init(messages: TestAsyncQueue<TestWebSocketMessage>) {
        self.messages = messages
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.messages.push(TestWebSocketMessage(self.unwrapInboundIn(data)))
    }

    package func channelInactive(context: ChannelHandlerContext) {
        self.messages.finish()
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Sends the upgrade request once connected, and turns a refusal (any answer but 101) into a result.
private final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPClientResponsePart
    package typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let outcome: EventLoopPromise<TestWebSocket.Outcome>
    private let messages: TestAsyncQueue<TestWebSocketMessage>
    private var refusal: HTTPResponseHead?
    private var body = ByteBuffer()
    private var requestSent = false

    package init(head: HTTPRequestHead, outcome: EventLoopPromise<TestWebSocket.Outcome>, messages: TestAsyncQueue<TestWebSocketMessage>) {
        self.head = head
        self.outcome = outcome
        self.messages = messages
    }

    package func channelActive(context: ChannelHandlerContext) {
        self.sendRequest(context: context)
        context.fireChannelActive()
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.sendRequest(context: context) }
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard !self.requestSent else { return }
        self.requestSent = true
        context.write(self.wrapOutboundOut(.head(self.head)), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.refusal = head
        case .body(var chunk):
            self.body.writeBuffer(&chunk)
        case .end:
            if let head = self.refusal {
                self.outcome.succeed(.refused(TestHTTPResponse(head: head, body: self.body)))
                context.close(promise: nil)
            }
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        self.outcome.fail(TestClientError.connectionClosed)
        self.messages.finish()
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.outcome.fail(error)
        context.close(promise: nil)
    }
}

/// A client WebSocket. Frames it sends are masked; frames it receives are queued for ``next(timeout:)``.
package final class TestWebSocket: Sendable {
    /// How an upgrade attempt ended.
    package enum Outcome: Sendable {
        case upgraded(TestWebSocket)
        case refused(TestHTTPResponse)
    }

    package let channel: Channel
    private let messages: TestAsyncQueue<TestWebSocketMessage>

    private init(channel: Channel, messages: TestAsyncQueue<TestWebSocketMessage>) {
        self.channel = channel
        self.messages = messages
    }

    /// Asks `address` to upgrade `uri` to a WebSocket.
    package static func attempt(to address: SocketAddress, uri: String, headers: HTTPHeaders = [:],
                        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                        maxFrameSize: Int = 1 << 24) async throws -> Outcome {
        let messages = TestAsyncQueue<TestWebSocketMessage>()
        let loop = group.next()
        let outcome = loop.makePromise(of: Outcome.self)
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
        if !head.headers.contains(name: "Host") { head.headers.add(name: "Host", value: "localhost") }
        let requestHead = head
        let connect = ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let requester = UpgradeRequester(head: requestHead, outcome: outcome, messages: messages)
                    let boundRequester = NIOLoopBound(requester, eventLoop: channel.eventLoop)
                    let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: maxFrameSize, automaticErrorHandling: false) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(WebSocketFrameCollector(messages: messages))
                            outcome.succeed(.upgraded(TestWebSocket(channel: channel, messages: messages)))
                        }
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            context.pipeline.syncOperations.removeHandler(boundRequester.value, promise: nil)
                        })
                    )
                    try channel.pipeline.syncOperations.addHandler(requester)
                }
            }
            .connect(to: address)
        let channel = try await awaitWithTimeout(connect, "connecting to \(address)")
        do {
            return try await awaitWithTimeout(outcome.futureResult, "the upgrade response for \(uri)")
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Opens a WebSocket; throws ``TestClientError/upgradeRefused(_:)`` if the server refuses.
    package static func connect(to address: SocketAddress, uri: String, headers: HTTPHeaders = [:],
                        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                        maxFrameSize: Int = 1 << 24) async throws -> TestWebSocket {
        switch try await self.attempt(to: address, uri: uri, headers: headers, group: group, maxFrameSize: maxFrameSize) {
        case .upgraded(let socket): return socket
        case .refused(let response): throw TestClientError.upgradeRefused(response)
        }
    }

    /// Sends a frame, masked as a client must.
    package func send(_ frame: WebSocketFrame) {
        var frame = frame
        frame.maskKey = .random()
        self.channel.writeAndFlush(frame, promise: nil)
    }

    /// Sends one text frame.
    package func send(text: String, fin: Bool = true, opcode: WebSocketOpcode = .text) {
        self.send(WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(string: text)))
    }

    /// Sends one frame carrying `bytes` as is (`opcode` .text lets a test send invalid UTF-8).
    package func send(bytes: [UInt8], opcode: WebSocketOpcode = .binary, fin: Bool = true) {
        self.send(WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(bytes: bytes)))
    }

    /// Sends a close frame with `code`.
    package func sendClose(code: WebSocketErrorCode = .normalClosure) {
        var data = ByteBuffer()
        data.write(webSocketErrorCode: code)
        self.send(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
    }

    /// The next frame received.
    package func next(timeout: TimeAmount = testClientTimeout) async throws -> TestWebSocketMessage {
        try await self.messages.next(timeout: timeout, "a WebSocket frame")
    }

    /// The next frame, which must be a text frame.
    package func nextText(timeout: TimeAmount = testClientTimeout) async throws -> String {
        let message = try await self.next(timeout: timeout)
        guard case .text(let text) = message else { throw TestClientError.unexpected("expected a text frame, got \(message)") }
        return text
    }

    /// The next frame, which must be a close frame; returns its code.
    package func nextClose(timeout: TimeAmount = testClientTimeout) async throws -> UInt16? {
        let message = try await self.next(timeout: timeout)
        guard case .close(let code) = message else { throw TestClientError.unexpected("expected a close frame, got \(message)") }
        return code
    }

    /// Waits until the connection is closed.
    package func waitForClose(timeout: TimeAmount = testClientTimeout) async throws {
        try await awaitWithTimeout(self.channel.closeFuture, timeout: timeout, "the WebSocket to close")
    }

    /// Closes the TCP connection at once.
    package func close() async {
        try? await self.channel.close()
    }
}

// A small Server-Sent Events client for tests over a real loopback socket: one GET, the response
// head, then the `text/event-stream` body parsed into messages (WHATWG HTML "Server-sent events",
// the parts a test needs) as they arrive. Independent of the server's own formatter.

import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One message of an event stream: the fields of the lines up to a blank line.
package struct TestSSEMessage: Sendable, Equatable, CustomStringConvertible {
    /// `id:`, if the message had one.
    package var id: String?
    /// `event:`, if the message had one.
    package var event: String?
    /// The `data:` lines joined with `\n`, if there were any.
    package var data: String?
    /// `retry:`, if the message had one.
    package var retry: String?
    /// The comment lines (`: …`), without the colon and one following space.
    package var comments: [String] = []

    package init(id: String? = nil, event: String? = nil, data: String? = nil, retry: String? = nil, comments: [String] = []) {
        self.id = id
        self.event = event
        self.data = data
        self.retry = retry
        self.comments = comments
    }

    /// Whether the message is only comments (a heartbeat) or only `retry:`.
    package var isControl: Bool { self.id == nil && self.event == nil && self.data == nil }

    package var description: String {
        "id=\(self.id ?? "-") event=\(self.event ?? "-") data=\(self.data ?? "-") retry=\(self.retry ?? "-") comments=\(self.comments)"
    }
}

/// Splits an event-stream body into ``TestSSEMessage``s (lines end in LF, CRLF or CR).
package struct TestSSEParser: Sendable {
    private var pending: [UInt8] = []
    private var message = TestSSEMessage()
    private var hasFields = false
    private var lastWasCR = false

    package init() {}

    /// Feeds body bytes; returns the messages they complete.
    package mutating func feed(_ bytes: ByteBufferView) -> [TestSSEMessage] {
        var messages: [TestSSEMessage] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            if self.lastWasCR, rest.first == UInt8(ascii: "\n") {
                rest = rest.dropFirst()
                self.lastWasCR = false
                continue
            }
            self.lastWasCR = false
            guard let end = rest.firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else {
                self.pending.append(contentsOf: rest)
                break
            }
            self.pending.append(contentsOf: rest[..<end])
            self.lastWasCR = rest[end] == UInt8(ascii: "\r")
            if let message = self.line(String(decoding: self.pending, as: UTF8.self)) {
                messages.append(message)
            }
            self.pending.removeAll(keepingCapacity: true)
            rest = rest[rest.index(after: end)...]
        }
        return messages
    }

    private mutating func line(_ line: String) -> TestSSEMessage? {
        if line.isEmpty {
            defer {
                self.message = TestSSEMessage()
                self.hasFields = false
            }
            return self.hasFields ? self.message : nil
        }
        self.hasFields = true
        var field = line
        var value = ""
        if let colon = line.firstIndex(of: ":") {
            field = String(line[..<colon])
            value = String(line[line.index(after: colon)...])
            if value.hasPrefix(" ") { value.removeFirst() }
        }
        switch field {
        case "": self.message.comments.append(value)
        case "id": self.message.id = value
        case "event": self.message.event = value
        case "data": self.message.data = self.message.data.map { $0 + "\n" + value } ?? value
        case "retry": self.message.retry = value
        default: break
        }
        return nil
    }
}

/// Hands the head to a promise, then each parsed message to the queue; a refusal (any status but
/// 200) is gathered whole.
private final class EventStreamCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let outcome: EventLoopPromise<HTTPResponseHead>
    private let refused: EventLoopPromise<TestHTTPResponse>
    private let messages: TestAsyncQueue<TestSSEMessage>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var parser = TestSSEParser()

    init(outcome: EventLoopPromise<HTTPResponseHead>, refused: EventLoopPromise<TestHTTPResponse>,
         messages: TestAsyncQueue<TestSSEMessage>) {
        self.outcome = outcome
        self.refused = refused
        self.messages = messages
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.outcome.succeed(head)
        case .body(let chunk):
            if self.head?.status == .ok {
                for message in self.parser.feed(chunk.readableBytesView) {
                    self.messages.push(message)
                }
            } else {
                var chunk = chunk
                self.body.writeBuffer(&chunk)
            }
        case .end:
            if let head = self.head, head.status != .ok {
                self.refused.succeed(TestHTTPResponse(head: head, body: self.body))
            }
            self.messages.finish()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.outcome.fail(TestClientError.connectionClosed)
        self.refused.fail(TestClientError.connectionClosed)
        self.messages.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A client of one event stream (`GET` with `Accept: text/event-stream`).
package final class TestEventStream: Sendable {
    /// How the server answered.
    package enum Outcome: Sendable {
        /// Any status but 200: the whole answer.
        case refused(TestHTTPResponse)
        /// 200: the stream.
        case streaming(TestEventStream)
    }

    package let channel: Channel
    /// The response head.
    package let head: HTTPResponseHead
    private let messages: TestAsyncQueue<TestSSEMessage>

    private init(channel: Channel, head: HTTPResponseHead, messages: TestAsyncQueue<TestSSEMessage>) {
        self.channel = channel
        self.head = head
        self.messages = messages
    }

    /// Sends `GET uri` to `address` and waits for the head (for a refusal, the whole answer).
    package static func open(to address: SocketAddress, uri: String, headers: HTTPHeaders = [:], method: HTTPMethod = .GET,
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> Outcome {
        let messages = TestAsyncQueue<TestSSEMessage>()
        let loop = group.any()
        let outcome = loop.makePromise(of: HTTPResponseHead.self)
        let refused = loop.makePromise(of: TestHTTPResponse.self)
        let connect = ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        EventStreamCollector(outcome: outcome, refused: refused, messages: messages))
                }
            }
            .connect(to: address)
        let channel = try await awaitWithTimeout(connect, "connecting to \(address)")
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        if !head.headers.contains(name: "Host") { head.headers.add(name: "Host", value: "localhost") }
        if !head.headers.contains(name: "Accept") { head.headers.add(name: "Accept", value: "text/event-stream") }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let responseHead = try await awaitWithTimeout(outcome.futureResult, "the response head of \(uri)")
        guard responseHead.status == .ok else {
            return .refused(try await awaitWithTimeout(refused.futureResult, "the refusal of \(uri)"))
        }
        refused.fail(TestClientError.unexpected("streaming"))
        return .streaming(TestEventStream(channel: channel, head: responseHead, messages: messages))
    }

    /// ``open(to:uri:headers:method:group:)`` that must succeed with a stream.
    package static func connect(to address: SocketAddress, uri: String, headers: HTTPHeaders = [:],
                                group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> TestEventStream {
        switch try await Self.open(to: address, uri: uri, headers: headers, group: group) {
        case .streaming(let stream): return stream
        case .refused(let response): throw TestClientError.unexpected("\(uri) refused: \(response.status.code) \(response.text)")
        }
    }

    /// The next message, heartbeats and `retry:` included.
    package func next(timeout: TimeAmount = testClientTimeout) async throws -> TestSSEMessage {
        try await self.messages.next(timeout: timeout, "an event-stream message")
    }

    /// The next message with an `id`, `event` or `data` (heartbeats and `retry:` skipped).
    package func nextEvent(timeout: TimeAmount = testClientTimeout) async throws -> TestSSEMessage {
        while true {
            let message = try await self.next(timeout: timeout)
            if !message.isControl { return message }
        }
    }

    /// Whether no message is waiting.
    package var isEmpty: Bool { self.messages.isEmpty }

    /// Waits until the server closes the connection (messages still buffered are dropped).
    package func waitForClose(timeout: TimeAmount = testClientTimeout) async throws {
        _ = try await awaitWithTimeout(self.channel.closeFuture, timeout: timeout, "the stream to close")
    }

    /// Closes the connection, as a browser does when an `EventSource` is closed.
    package func close() async {
        try? await self.channel.close()
    }
}

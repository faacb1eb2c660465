import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

@testable import EngineIO

/// Streaming responses (``HTTPResponseSink/startStream(status:headers:writeBufferWaterMark:)``):
/// the router on an `EmbeddedChannel`, and once through a real ``HTTPServer`` and its drain.
@Suite("HTTP response streams")
struct HTTPResponseStreamTests {
    @Test func theHeadGoesOutAtOnceWithoutALengthAndTheBodyAsWritten() throws {
        let (channel, endpoint) = try makeStreamingChannel()
        let stream = try startStream(channel, endpoint)
        guard case .head(let head) = try #require(try channel.readOutbound(as: HTTPServerResponsePart.self)) else {
            Issue.record("expected the head first")
            return
        }
        #expect(head.status == .ok)
        #expect(head.version == .http1_1)
        #expect(head.headers["Content-Type"] == ["text/event-stream"])
        #expect(head.headers["Content-Length"].isEmpty)
        #expect(head.headers["Connection"] == ["close"])
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)

        stream.write(ByteBuffer(string: "one\n"))
        stream.write(ByteBuffer(string: "two\n"))
        stream.flush()
        #expect(try bodyParts(channel) == ["one\n", "two\n"])
        #expect(stream.isOpen)
        #expect(stream.isWritable)
        #expect(stream.remoteAddress?.port == 1)
    }

    @Test func closeEndsTheBodyClosesTheConnectionAndRunsOnCloseOnce() throws {
        let (channel, endpoint) = try makeStreamingChannel()
        let stream = try startStream(channel, endpoint)
        let closes = NIOLockedValueBox(0)
        stream.onClose { closes.withLockedValue { $0 += 1 } }
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)  // head

        stream.write(ByteBuffer(string: "last"))
        stream.close()
        #expect(!stream.isOpen)
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .body(.byteBuffer(ByteBuffer(string: "last"))))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .end(nil))
        #expect(!channel.isActive)
        #expect(closes.withLockedValue { $0 } == 1)

        stream.write(ByteBuffer(string: "too late"))
        stream.close()
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        #expect(closes.withLockedValue { $0 } == 1)
        // Registered after the end: runs at once.
        let late = NIOLockedValueBox(0)
        stream.onClose { late.withLockedValue { $0 += 1 } }
        #expect(late.withLockedValue { $0 } == 1)
    }

    @Test func theClientGoingAwayEndsTheStream() throws {
        let (channel, endpoint) = try makeStreamingChannel()
        let stream = try startStream(channel, endpoint)
        let closes = NIOLockedValueBox(0)
        stream.onClose { closes.withLockedValue { $0 += 1 } }
        try channel.close().wait()
        #expect(closes.withLockedValue { $0 } == 1)
        #expect(!stream.isOpen)
        #expect(!stream.isWritable)
    }

    @Test func noKeepAliveClockRunsWhileStreaming() throws {
        let (channel, endpoint) = try makeStreamingChannel()
        let stream = try startStream(channel, endpoint)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))  // twice the keep-alive and head clocks
        #expect(channel.isActive)
        #expect(stream.isOpen)
    }

    @Test func aDrainEndsTheStream() throws {
        let (channel, endpoint) = try makeStreamingChannel()
        let stream = try startStream(channel, endpoint)
        let closes = NIOLockedValueBox(0)
        stream.onClose { closes.withLockedValue { $0 += 1 } }
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)  // head
        channel.pipeline.fireUserInboundEventTriggered(HTTPServer.CloseWhenIdleEvent())
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .end(nil))
        #expect(!channel.isActive)
        #expect(closes.withLockedValue { $0 } == 1)
    }

    @Test func aStreamAnswersOnceAndOnlyTheRequestWaiting() throws {
        let (channel, endpoint) = try makeStreamingChannel()
        let stream = try startStream(channel, endpoint)
        let sink = try #require(endpoint.sinks.last)
        #expect(sink.startStream(headers: [:]) == nil, "a second stream for the same request")
        sink.send(.text(.ok, "whole"))
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)  // head
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "a whole response after the stream's head")

        // Requests pipelined behind the stream are not served.
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/events")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(endpoint.sinks.count == 1)
        #expect(stream.isOpen)
    }

    @Test func anHTTP10RequestGetsAnHTTP10Head() throws {
        let (channel, endpoint) = try makeStreamingChannel()
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_0, method: .GET, uri: "/events")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let sink = try #require(endpoint.sinks.last)
        _ = try #require(sink.startStream(headers: [:]))
        guard case .head(let head) = try #require(try channel.readOutbound(as: HTTPServerResponsePart.self)) else {
            Issue.record("expected the head")
            return
        }
        #expect(head.version == .http1_0)
        #expect(head.headers["Connection"] == ["close"])
    }

    @Test func theRealServerStreamsChunkedAndItsDrainEndsTheStream() async throws {
        let endpoint = GreetingStreamEndpoint()
        var logger = Logger(label: "stream-tests")
        logger.logLevel = .critical
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: [endpoint],
                                group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let address = try await server.start()
        let connection = try await TestHTTPConnection.connect(to: address)
        connection.send(.GET, "/events")
        try await endpoint.started.next("the stream to start")
        await server.stopAccepting()
        #expect(await server.closeConnections(until: .now() + .seconds(5)), "the stream ended on its own")

        // The client sees one complete response: the chunked body ended properly before the close.
        let response = try await connection.response()
        #expect(response.status == .ok)
        #expect(response.headers["Transfer-Encoding"] == ["chunked"])
        #expect(response.headers["Connection"] == ["close"])
        #expect(response.text == "hello\nworld\n")
        try await connection.waitForClose()
        #expect(try await endpoint.closed.next("onClose") == 1)
    }
}

// MARK: - Helpers

/// An endpoint at `/events` that keeps every sink and answers only when the test says so.
private final class StreamingEndpoint: HTTPEndpoint, @unchecked Sendable {
    private let state = NIOLockedValueBox<[HTTPResponseSink]>([])
    var sinks: [HTTPResponseSink] { self.state.withLockedValue { $0 } }
    let maxRequestBodySize = 100

    func matches(path: String) -> Bool { path == "/events" }

    func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
        self.state.withLockedValue { $0.append(sink) }
    }
}

/// An endpoint at `/events` that streams two lines and then waits.
private final class GreetingStreamEndpoint: HTTPEndpoint, Sendable {
    let started = TestAsyncQueue<Void>()
    let closed = TestAsyncQueue<Int>()
    let maxRequestBodySize = 100

    func matches(path: String) -> Bool { path == "/events" }

    func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
        guard let stream = sink.startStream(headers: ["Content-Type": "text/plain"]) else { return }
        stream.write(ByteBuffer(string: "hello\n"))
        stream.flush()
        stream.write(ByteBuffer(string: "world\n"))
        stream.flush()
        var closes = 0
        let closed = self.closed
        stream.onClose {
            closes += 1
            closed.push(closes)
        }
        self.started.push(())
    }
}

private func makeStreamingChannel() throws -> (EmbeddedChannel, StreamingEndpoint) {
    let endpoint = StreamingEndpoint()
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandler(HTTPRequestRouter(endpoints: [endpoint], fallbackBodyLimit: 100))
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return (channel, endpoint)
}

/// Sends `GET /events` and starts a `text/event-stream` stream for it.
private func startStream(_ channel: EmbeddedChannel, _ endpoint: StreamingEndpoint) throws -> HTTPResponseStream {
    try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/events")))
    try channel.writeInbound(HTTPServerRequestPart.end(nil))
    let sink = try #require(endpoint.sinks.last)
    return try #require(sink.startStream(headers: ["Content-Type": "text/event-stream", "Content-Length": "5"]))
}

/// The body parts written so far, as text.
private func bodyParts(_ channel: EmbeddedChannel) throws -> [String] {
    var parts: [String] = []
    while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
        guard case .body(.byteBuffer(let buffer)) = part else {
            Issue.record("expected a body part, got \(part)")
            return parts
        }
        parts.append(String(buffer: buffer))
    }
    return parts
}

import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import EngineIO

/// ``HTTPRequestRouter`` on an `EmbeddedChannel`: request parts in, response parts out.
@Suite("HTTP request router")
struct HTTPRequestRouterTests {
    // MARK: Body limits

    @Test func contentLengthOverTheLimitIsRefusedBeforeTheBodyIsRead() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 10)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.POST, "/api?sid=x", headers: ["Content-Length": "11"])))

        // Answered on the head alone: no body byte has been written yet.
        let response = try #require(try readResponse(channel))
        #expect(response.head.status == .payloadTooLarge)
        #expect(response.head.headers.first(name: "Connection") == "close")
        #expect(response.head.headers.first(name: "Content-Length") == String(response.body.count))
        #expect(endpoint.tooLargeURIs == ["/api?sid=x"])
        #expect(!channel.isActive, "the connection closes after the 413")

        #expect(endpoint.requests.isEmpty)
    }

    @Test func contentLengthAtTheLimitIsAccepted() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 10)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.POST, "/api", headers: ["Content-Length": "10"])))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "01234")))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "56789")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))

        let request = try #require(endpoint.requests.first)
        #expect(request.body.map { String(buffer: $0) } == "0123456789", "the chunks are joined")
        #expect(endpoint.tooLargeURIs.isEmpty)
        #expect(try readResponse(channel) == nil, "nothing is written until the endpoint answers")
    }

    @Test func chunkedBodyPastTheLimitIsRefused() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 10)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.POST, "/api", headers: ["Transfer-Encoding": "chunked"])))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "123456")))
        #expect(try readResponse(channel) == nil)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "789012")))

        let response = try #require(try readResponse(channel))
        #expect(response.head.status == .payloadTooLarge)
        #expect(response.head.headers.first(name: "Connection") == "close")
        #expect(!channel.isActive)
        #expect(endpoint.tooLargeURIs == ["/api"])
        #expect(endpoint.requests.isEmpty)
    }

    @Test func requestsNoEndpointClaimsGet404WithinTheFallbackLimit() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 1000)
        let channel = try makeChannel(endpoint, fallbackBodyLimit: 5)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/other")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try readResponse(channel)?.head.status == .notFound)
        #expect(channel.isActive)

        try channel.writeInbound(HTTPServerRequestPart.head(head(.POST, "/other", headers: ["Content-Length": "6"])))
        #expect(try readResponse(channel)?.head.status == .payloadTooLarge)
        #expect(endpoint.requests.isEmpty)
        #expect(endpoint.tooLargeURIs.isEmpty, "the endpoint is not told about requests that are not its own")
    }

    @Test func theFirstMatchingEndpointGetsTheRequest() throws {
        let first = RecordingEndpoint(path: "/a", maxBodySize: 10)
        let second = RecordingEndpoint(path: "/a", maxBodySize: 10)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPRequestRouter(endpoints: [first, second], fallbackBodyLimit: 10))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/a?x=1")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(first.requests.map(\.head.uri) == ["/a?x=1"])
        #expect(second.requests.isEmpty)
    }

    // MARK: Connection handling

    @Test func keepAliveConnectionServesOneRequestAfterAnother() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 100)
        let channel = try makeChannel(endpoint)

        for round in 1...2 {
            try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/api?round=\(round)")))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
            let sink = try #require(endpoint.sinks.last)
            sink.send(.text(.ok, "round \(round)"))
            let response = try #require(try readResponse(channel))
            #expect(response.head.status == .ok)
            #expect(String(decoding: response.body, as: UTF8.self) == "round \(round)")
            #expect(response.head.headers.first(name: "Content-Length") == String("round \(round)".utf8.count))
            #expect(response.head.headers.first(name: "Connection") == nil)
            #expect(channel.isActive)
        }
        #expect(endpoint.requests.count == 2)
    }

    @Test(arguments: [
        (HTTPVersion.http1_1, HTTPHeaders([("Connection", "close")])),
        (HTTPVersion.http1_0, HTTPHeaders()),
    ])
    func nonKeepAliveRequestClosesTheConnection(version: HTTPVersion, headers: HTTPHeaders) throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 100)
        let channel = try makeChannel(endpoint)
        var requestHead = head(.GET, "/api", headers: headers)
        requestHead.version = version
        try channel.writeInbound(HTTPServerRequestPart.head(requestHead))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try #require(endpoint.sinks.last).send(.text(.ok, "bye"))

        let response = try #require(try readResponse(channel))
        #expect(response.head.headers.first(name: "Connection") == "close")
        #expect(!channel.isActive)
    }

    @Test func responseAskingToCloseClosesTheConnection() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 100)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/api")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try #require(endpoint.sinks.last).send(HTTPServerResponse(status: .ok, closeConnection: true))

        let response = try #require(try readResponse(channel))
        #expect(response.head.headers.first(name: "Connection") == "close")
        #expect(response.head.headers.first(name: "Content-Length") == "0")
        #expect(!channel.isActive)
    }

    // MARK: Sinks

    @Test func aSinkAnsweringTwiceWritesOnce() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 100)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/api")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let sink = try #require(endpoint.sinks.last)
        sink.send(.text(.ok, "first"))
        sink.send(.text(.ok, "second"))

        let response = try #require(try readResponse(channel))
        #expect(String(decoding: response.body, as: UTF8.self) == "first")
        #expect(try readResponse(channel) == nil)
    }

    @Test func aStaleSinkCannotAnswerTheNextRequest() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 100)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/api?n=1")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let firstSink = try #require(endpoint.sinks.last)
        firstSink.send(.text(.ok, "one"))
        _ = try readResponse(channel)

        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/api?n=2")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        firstSink.send(.text(.ok, "stale"))
        #expect(try readResponse(channel) == nil)
        #expect(!firstSink.isSameRequest(as: try #require(endpoint.sinks.last)))
        try #require(endpoint.sinks.last).send(.text(.ok, "two"))
        #expect(try readResponse(channel).map { String(decoding: $0.body, as: UTF8.self) } == "two")
    }

    @Test func onCancelFiresWhenTheConnectionClosesWhileAResponseIsPending() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 100)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/api")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let sink = try #require(endpoint.sinks.last)
        let cancelled = NIOLockedValueBox(0)
        sink.onCancel { cancelled.withLockedValue { $0 += 1 } }
        #expect(cancelled.withLockedValue { $0 } == 0)

        try channel.close().wait()
        #expect(cancelled.withLockedValue { $0 } == 1)
        sink.send(.text(.ok, "too late"))
        #expect(try readResponse(channel) == nil)

        // Registered once the connection is already gone: runs at once.
        let late = NIOLockedValueBox(0)
        sink.onCancel { late.withLockedValue { $0 += 1 } }
        #expect(late.withLockedValue { $0 } == 1)
    }

    @Test func onCancelDoesNotFireOnceTheResponseWasSent() throws {
        let endpoint = RecordingEndpoint(path: "/api", maxBodySize: 100)
        let channel = try makeChannel(endpoint)
        try channel.writeInbound(HTTPServerRequestPart.head(head(.GET, "/api")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let sink = try #require(endpoint.sinks.last)
        let cancelled = NIOLockedValueBox(0)
        sink.onCancel { cancelled.withLockedValue { $0 += 1 } }
        sink.send(.text(.ok, "done"))
        _ = try readResponse(channel)

        try channel.close().wait()
        #expect(cancelled.withLockedValue { $0 } == 0)
    }
}

// MARK: - Helpers

/// An endpoint that keeps every request and sink and answers only when the test says so.
private final class RecordingEndpoint: HTTPEndpoint, @unchecked Sendable {
    let path: String
    let maxRequestBodySize: Int
    private let state = NIOLockedValueBox<(requests: [HTTPServerRequest], sinks: [HTTPResponseSink], tooLarge: [String])>(([], [], []))

    init(path: String, maxBodySize: Int) {
        self.path = path
        self.maxRequestBodySize = maxBodySize
    }

    var requests: [HTTPServerRequest] { self.state.withLockedValue { $0.requests } }
    var sinks: [HTTPResponseSink] { self.state.withLockedValue { $0.sinks } }
    var tooLargeURIs: [String] { self.state.withLockedValue { $0.tooLarge } }

    func matches(path: String) -> Bool { path == self.path }

    func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
        self.state.withLockedValue {
            $0.requests.append(request)
            $0.sinks.append(sink)
        }
    }

    func requestBodyTooLarge(_ head: HTTPRequestHead) {
        self.state.withLockedValue { $0.tooLarge.append(head.uri) }
    }
}

private struct WrittenResponse: Equatable {
    var head: HTTPResponseHead
    var body: [UInt8]
}

private func makeChannel(_ endpoint: RecordingEndpoint, fallbackBodyLimit: Int = 1 << 20) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandler(HTTPRequestRouter(endpoints: [endpoint], fallbackBodyLimit: fallbackBodyLimit))
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return channel
}

private func head(_ method: HTTPMethod, _ uri: String, headers: HTTPHeaders = [:]) -> HTTPRequestHead {
    HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
}

/// The next complete response written, or `nil` if none was.
private func readResponse(_ channel: EmbeddedChannel) throws -> WrittenResponse? {
    guard let first = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
    guard case .head(let head) = first else {
        Issue.record("expected a response head, got \(first)")
        return nil
    }
    var body: [UInt8] = []
    while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
        switch part {
        case .head(let unexpected):
            Issue.record("a second head before the end: \(unexpected)")
            return nil
        case .body(.byteBuffer(let buffer)):
            body += buffer.readableBytesView
        case .body(let other):
            Issue.record("unexpected body kind \(other)")
        case .end:
            return WrittenResponse(head: head, body: body)
        }
    }
    Issue.record("the response has no end")
    return nil
}

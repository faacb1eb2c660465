import TestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import EngineIO

/// The listener's own limits over loopback (``HTTPServer/Configuration``): the request head size
/// (431) and time (408, slowloris), the keep-alive idle timeout, and that neither clock cuts a
/// long-poll that is legitimately waiting or an upgraded WebSocket.
@Suite("HTTP server limits")
struct HTTPServerLimitsTests {
    @Test func aHeadPastMaxHeaderSizeGets431AndTheConnectionCloses() async throws {
        try await withConfiguredEngineServer(http: { $0.maxHeaderSize = 4096 }) { server in
            let connection = try await TestHTTPConnection.connect(to: server.address, group: server.server.group)
            let response = try await connection.request(.GET, server.server.uri(transport: "polling"),
                                                        headers: ["X-Padding": String(repeating: "a", count: 5000)])
            #expect(response.status == .requestHeaderFieldsTooLarge)
            #expect(response.headers.first(name: "Connection") == "close")
            #expect(try response.jsonObject()["error"] as? String == "request header fields too large")
            try await connection.waitForClose()
            #expect(server.engine.sessionCount == 0)
            #expect(server.http.refusals.snapshot[.headerTooLarge] == 1)

            // A head within the limit on a new connection is served.
            let fine = try await server.server.http.get(server.server.uri(transport: "polling"),
                                                        headers: ["X-Padding": String(repeating: "a", count: 3000)])
            #expect(fine.status == .ok)
        }
    }

    @Test func aLongRequestLineCountsAgainstMaxHeaderSize() async throws {
        try await withConfiguredEngineServer(http: { $0.maxHeaderSize = 2048 }) { server in
            let response = try await server.server.http.get(server.server.uri(transport: "polling", extra: "&x=" + String(repeating: "b", count: 3000)))
            #expect(response.status == .requestHeaderFieldsTooLarge)
        }
    }

    @Test func aMalformedRequestGets400AndTheConnectionCloses() async throws {
        try await withConfiguredEngineServer { server in
            let connection = try await RawTCPConnection.connect(to: server.address)
            try await connection.send("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            try await connection.waitForClose()
            #expect(connection.text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "got: \(connection.text)")
            #expect(connection.text.contains(#""error":"bad request""#))
        }
    }

    @Test func aTrickledHeadGets408WhenRequestHeadTimeoutPasses() async throws {
        try await withConfiguredEngineServer(http: {
            $0.requestHeadTimeout = .milliseconds(300)
            $0.keepAliveTimeout = .seconds(30)
        }) { server in
            let connection = try await RawTCPConnection.connect(to: server.address)
            try await connection.send("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n")
            try await Task.sleep(for: .milliseconds(100))
            try await connection.send("Host: localhost\r\n")
            // ... and never the blank line.
            try await connection.waitForClose()
            #expect(connection.text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "got: \(connection.text)")
            #expect(connection.text.lowercased().contains("connection: close"))
            #expect(server.http.refusals.snapshot[.requestHeadTimeout] == 1)
            #expect(server.engine.sessionCount == 0)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedQuietly() async throws {
        try await withConfiguredEngineServer(http: {
            $0.keepAliveTimeout = .milliseconds(300)
            $0.requestHeadTimeout = .seconds(30)
        }) { server in
            let connection = try await RawTCPConnection.connect(to: server.address)
            try await connection.send("GET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\n")
            try await connection.waitForClose()
            #expect(connection.text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
            #expect(!connection.text.lowercased().contains("connection: close"), "the 404 itself kept the connection")
            #expect(connection.text.components(separatedBy: "HTTP/1.1").count == 2, "no second answer, just the close")
            #expect(server.http.refusals.snapshot[.requestHeadTimeout] == 0)

            // A connection that never sends anything is closed after the same idle time.
            let silent = try await RawTCPConnection.connect(to: server.address)
            try await silent.waitForClose()
            #expect(silent.text.isEmpty)
        }
    }

    @Test func aLongPollWaitsLongerThanBothClocks() async throws {
        try await withConfiguredEngineServer(http: {
            $0.keepAliveTimeout = .milliseconds(200)
            $0.requestHeadTimeout = .milliseconds(200)
        }) { server in
            let sid = try await server.server.handshake()
            let poller = try await TestHTTPConnection.connect(to: server.address, group: server.server.group)
            poller.send(.GET, server.server.uri(transport: "polling", sid: sid))
            try await server.server.waitUntilPollParked(sid)
            try await Task.sleep(for: .milliseconds(700))
            #expect(poller.channel.isActive, "the parked GET's connection is still open")

            #expect(try await server.server.post(sid, "4late").status == .ok)
            let answer = try await poller.response()
            #expect(answer.status == .ok)
            #expect(answer.text == "4late")
            await poller.close()
        }
    }

    @Test func anUpgradedWebSocketIsNotSubjectToTheHTTPClocks() async throws {
        try await withConfiguredEngineServer(http: {
            $0.keepAliveTimeout = .milliseconds(200)
            $0.requestHeadTimeout = .milliseconds(200)
        }) { server in
            let socket = try await server.server.webSocket()
            #expect(try await socket.nextText().hasPrefix("0{"))
            try await Task.sleep(for: .milliseconds(700))
            socket.send(text: "4quiet but alive")
            #expect(try await socket.nextText() == "4quiet but alive")
            await socket.close()
        }
    }

    @Test func aFrameOverMaxHttpBufferSizeIsClosedWith1009AndAReason() async throws {
        try await withConfiguredEngineServer(engine: { $0.maxHttpBufferSize = 1000 }) { server in
            let socket = try await server.server.webSocket()
            let recorder = try await CloseFrameRecorder.install(on: socket)
            #expect(try await socket.nextText().hasPrefix("0{"))
            socket.send(text: "4" + String(repeating: "x", count: 2000))
            #expect(try await socket.nextClose() == 1009)
            try await socket.waitForClose()
            #expect(recorder.received.map(\.reason) == ["message too large"])
        }
    }

    @Test func fragmentsOverMaxHttpBufferSizeAreClosedWith1009AndAReason() async throws {
        try await withConfiguredEngineServer(engine: { $0.maxHttpBufferSize = 1000 }) { server in
            let socket = try await server.server.webSocket()
            let recorder = try await CloseFrameRecorder.install(on: socket)
            #expect(try await socket.nextText().hasPrefix("0{"))
            socket.send(text: "4" + String(repeating: "x", count: 600), fin: false)
            socket.send(text: String(repeating: "y", count: 600), fin: true, opcode: .continuation)
            #expect(try await socket.nextClose() == 1009)
            try await socket.waitForClose()
            #expect(recorder.received.map(\.reason) == ["message too large"])
        }
    }

    @Test func defaults() {
        let configuration = HTTPServer.Configuration()
        #expect(configuration.maxHeaderSize == 16_384)
        #expect(configuration.requestHeadTimeout == .seconds(10))
        #expect(configuration.keepAliveTimeout == .seconds(30))
    }
}

import TestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import EngineIO

/// ``EngineConfiguration/maxConnections`` and ``EngineConfiguration/maxConnectionsPerIP`` over
/// loopback: the refused handshake is answered 503 with a JSON body, a refused WebSocket gets the
/// 503 instead of the 101, slots come back when sessions end, and refusals are counted.
@Suite("Engine.IO connection limits")
struct EngineServerLimitsTests {
    @Test func aPollingHandshakePastMaxConnectionsGets503() async throws {
        try await withConfiguredEngineServer(engine: { $0.maxConnections = 2 }) { server in
            _ = try await server.server.handshake()
            _ = try await server.server.handshake()
            let refused = try await server.server.http.get(server.server.uri(transport: "polling"))
            try expectEngineError(refused, code: 6, message: "Too many connections", status: .serviceUnavailable)
            #expect(server.engine.sessionCount == 2)
            #expect(server.engine.refusals.snapshot[.maxConnections] == 1)
        }
    }

    @Test func aWebSocketPastMaxConnectionsIsRefusedBeforeThe101() async throws {
        try await withConfiguredEngineServer(engine: { $0.maxConnections = 1 }) { server in
            let first = try await server.server.webSocket()
            #expect(try await first.nextText().hasPrefix("0{"))
            let refused = try await server.server.refusedWebSocket(server.server.uri(transport: "websocket"))
            try expectEngineError(refused, code: 6, message: "Too many connections", status: .serviceUnavailable)
            #expect(server.engine.sessionCount == 1)
            #expect(server.engine.refusals.snapshot[.maxConnections] == 1)

            // The first client is not disturbed.
            first.send(text: "4still here")
            #expect(try await first.nextText() == "4still here")
            await first.close()
        }
    }

    @Test func aSlotComesBackWhenASessionEnds() async throws {
        try await withConfiguredEngineServer(engine: { $0.maxConnections = 1 }) { server in
            let sid = try await server.server.handshake()
            let refused = try await server.server.http.get(server.server.uri(transport: "polling"))
            #expect(refused.status == .serviceUnavailable)

            // The client closes its session (close packet); its slot is free again.
            #expect(try await server.server.post(sid, "1").status == .ok)
            _ = try await server.server.delegate.waitForClose(of: sid)
            let again = try await server.server.http.get(server.server.uri(transport: "polling"))
            #expect(again.status == .ok)
            #expect(again.text.hasPrefix("0{"))
        }
    }

    @Test func anUpgradeTakesNoSecondSlot() async throws {
        try await withConfiguredEngineServer(engine: { $0.maxConnections = 1 }) { server in
            let sid = try await server.server.handshake()
            let socket = try await server.server.webSocket(sid: sid)
            socket.send(text: "2probe")
            #expect(try await socket.nextText() == "3probe")
            socket.send(text: "5")
            socket.send(text: "4upgraded")
            #expect(try await socket.nextText() == "4upgraded")
            #expect(server.engine.sessionCount == 1)
            #expect(server.engine.refusals.snapshot[.maxConnections] == 0)
            await socket.close()
        }
    }

    @Test func thePerAddressCapRefusesTheSameAddressOnly() async throws {
        try await withConfiguredEngineServer(engine: { $0.maxConnectionsPerIP = 2 }) { server in
            _ = try await server.server.handshake()
            let socket = try await server.server.webSocket()
            #expect(try await socket.nextText().hasPrefix("0{"))
            #expect(server.engine.sessionCountsByAddress == ["127.0.0.1": 2], "polling and WebSocket sessions both count")

            let polling = try await server.server.http.get(server.server.uri(transport: "polling"))
            try expectEngineError(polling, code: 7, message: "Too many connections from this address", status: .serviceUnavailable)
            let webSocket = try await server.server.refusedWebSocket(server.server.uri(transport: "websocket"))
            try expectEngineError(webSocket, code: 7, message: "Too many connections from this address", status: .serviceUnavailable)
            #expect(server.engine.refusals.snapshot[.maxConnectionsPerIP] == 2)

            await socket.close()
            try await waitUntil("the WebSocket session to end") { server.engine.sessionCount == 1 }
            #expect(server.engine.sessionCountsByAddress == ["127.0.0.1": 1])
        }
    }

    @Test func noLimitByDefaultPerAddress() {
        let configuration = EngineConfiguration()
        #expect(configuration.maxConnections == 100_000)
        #expect(configuration.maxConnectionsPerIP == 0)
    }
}

/// Polls `condition` every 5 ms until it holds (throws after `timeout`).
func waitUntil(_ what: String, timeout: TimeAmount = testClientTimeout, _ condition: () -> Bool) async throws {
    let deadline = NIODeadline.now() + timeout
    while !condition() {
        guard NIODeadline.now() < deadline else { throw TestClientError.timedOut(what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

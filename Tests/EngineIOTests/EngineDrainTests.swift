import TestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import EngineIO

/// ``EngineServer/drain(until:)``: buffered packets reach their clients before the close (the
/// close frame on WebSocket, the close packet on the parked or next poll), new sessions are
/// refused meanwhile, and the drain ends when every session has closed or at its deadline.
@Suite("Engine.IO graceful drain")
struct EngineDrainTests {
    /// Sends `count` messages `<prefix>0`, `<prefix>1`, … to the session, on its loop.
    private static func send(_ count: Int, _ prefix: String, to session: EngineSession) async throws {
        try await session.eventLoop.submit {
            for index in 0..<count {
                session.send(EngineCodec.encode(.message(.text("\(prefix)\(index)")), allocator: ByteBufferAllocator()))
            }
        }.get()
    }

    @Test func bufferedPacketsThenTheCloseForPollingAndWebSocketClients() async throws {
        try await withConfiguredEngineServer { server in
            let engine = server.engine
            // A polling client with 20 packets waiting (more than one poll carries) and no GET parked.
            let pollingSID = try await server.server.handshake()
            let polling = try #require(engine.session(id: pollingSID))
            try await Self.send(20, "p", to: polling)
            // A WebSocket client with packets queued in the same loop tick as the drain starts.
            let socket = try await server.server.webSocket()
            let open = try openPacketJSON(try await socket.nextText())
            let wsSID = try #require(open["sid"] as? String)
            let wsSession = try #require(engine.session(id: wsSID))
            try await wsSession.eventLoop.submit {
                for index in 0..<3 {
                    wsSession.send(EngineCodec.encode(.message(.text("w\(index)")), allocator: ByteBufferAllocator()))
                }
                engine.beginDrain()
            }.get()

            let drained = Task { await engine.drain(until: .now() + .seconds(10)) }

            // The WebSocket client reads its packets, then the close frame.
            #expect(try await socket.nextText() == "4w0")
            #expect(try await socket.nextText() == "4w1")
            #expect(try await socket.nextText() == "4w2")
            #expect(try await socket.nextClose() == 1000)
            try await socket.waitForClose()

            // New sessions are refused while draining, on polling and WebSocket alike.
            let refused = try await server.server.http.get(server.server.uri(transport: "polling"))
            try expectEngineError(refused, code: 8, message: "Server shutting down", status: .serviceUnavailable)
            let refusedSocket = try await server.server.refusedWebSocket(server.server.uri(transport: "websocket"))
            try expectEngineError(refusedSocket, code: 8, message: "Server shutting down", status: .serviceUnavailable)
            // ... and so is an upgrade of the draining polling session.
            let upgrade = try await server.server.refusedWebSocket(server.server.uri(transport: "websocket", sid: pollingSID))
            #expect(upgrade.status == .serviceUnavailable)

            // The polling client gets its 20 packets over two polls (16 + 4, each answered at once);
            // the poll that finds the buffer empty gets the close packet.
            let first = try await server.server.poll(pollingSID)
            #expect(first.text == (0..<16).map { "4p\($0)" }.joined(separator: "\u{1e}"))
            let second = try await server.server.poll(pollingSID)
            #expect(second.text == (16..<20).map { "4p\($0)" }.joined(separator: "\u{1e}"))
            let third = try await server.server.poll(pollingSID)
            #expect(third.text == "1")

            #expect(await drained.value, "every session closed before the deadline")
            #expect(engine.sessionCount == 0)
            #expect(server.server.delegate.closeReason(of: pollingSID) == .serverShuttingDown)
            #expect(server.server.delegate.closeReason(of: wsSession.id) == .serverShuttingDown)
            #expect(engine.refusals.snapshot[.shuttingDown] == 2)
        }
    }

    @Test func aParkedPollGetsTheCloseAtOnce() async throws {
        try await withConfiguredEngineServer { server in
            let sid = try await server.server.handshake()
            let poller = try await TestHTTPConnection.connect(to: server.address, group: server.server.group)
            poller.send(.GET, server.server.uri(transport: "polling", sid: sid))
            try await server.server.waitUntilPollParked(sid)

            #expect(await server.engine.drain(until: .now() + .seconds(10)))
            let answer = try await poller.response()
            #expect(answer.status == .ok)
            #expect(answer.text == "1")
            #expect(server.server.delegate.closeReason(of: sid) == .serverShuttingDown)
            await poller.close()
        }
    }

    @Test func aPollingClientThatNeverComesBackIsClosedAtTheDeadline() async throws {
        try await withConfiguredEngineServer { server in
            let sid = try await server.server.handshake()
            let graceful = await server.engine.drain(until: .now() + .milliseconds(300))
            #expect(!graceful)
            _ = try await server.server.delegate.waitForClose(of: sid)
            #expect(server.engine.sessionCount == 0)
            #expect(server.server.delegate.closeReason(of: sid) == .serverShuttingDown)
        }
    }

    @Test func closingConnectionsFinishesTheRequestInProgress() async throws {
        try await withConfiguredEngineServer { server in
            let idle = try await TestHTTPConnection.connect(to: server.address, group: server.server.group)
            _ = try await idle.request(.GET, "/nothing")
            let sid = try await server.server.handshake()
            let poller = try await TestHTTPConnection.connect(to: server.address, group: server.server.group)
            poller.send(.GET, server.server.uri(transport: "polling", sid: sid))
            try await server.server.waitUntilPollParked(sid)

            let closed = Task { await server.http.closeConnections(until: .now() + .seconds(10)) }
            try await idle.waitForClose()
            #expect(poller.channel.isActive, "the long-poll is still being answered")
            #expect(try await server.server.post(sid, "4last").status == .ok)
            let answer = try await poller.response()
            #expect(answer.text == "4last")
            #expect(answer.headers.first(name: "Connection") == "close")
            try await poller.waitForClose()
            // The POST's own connection was closed after its answer too (it arrived after the event).
            #expect(await closed.value)
            #expect(server.http.connectionCount == 0)
        }
    }
}

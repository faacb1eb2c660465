import NIOCore
import NIOHTTP1
import NIOWebSocket
import Testing

@testable import EngineIO

/// The Engine.IO v4 protocol end to end: a real ``HTTPServer`` with an ``EngineServer`` on loopback
/// (Support/EngineTestServer.swift), driven by the NIO test clients (Support/TestClients.swift).
/// The session handler echoes every message back. The behaviours follow the official Engine.IO v4
/// test suite, plus the server's own settings (limits, CORS, upgrade timeout).
@Suite("Engine.IO server over loopback")
struct EngineServerIntegrationTests {
    // MARK: Handshake

    @Test func pollingHandshakeOpensASession() async throws {
        try await withEngineServer(heartbeat: true) { server in
            let response = try await server.http.get(server.uri(transport: "polling"))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            #expect(response.headers.first(name: "Cache-Control") == "no-store")
            #expect(response.text.hasPrefix("0"))

            let open = try openPacketJSON(response.text)
            #expect(Set(open.keys) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"])
            let sid = try #require(open["sid"] as? String)
            #expect(!sid.isEmpty)
            #expect(open["upgrades"] as? [String] == ["websocket"])
            #expect(open["pingInterval"] as? Int == 300)
            #expect(open["pingTimeout"] as? Int == 200)
            #expect(open["maxPayload"] as? Int == 1_000_000)
            #expect(server.delegate.openedSessionIDs == [sid])
            #expect(server.engine.session(id: sid) != nil)
        }
    }

    @Test(arguments: ["transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling"])
    func handshakeWithoutProtocolVersion4IsRefused(query: String) async throws {
        try await withEngineServer { server in
            let response = try await server.http.get("/socket.io/?\(query)")
            try expectEngineError(response, code: 5, message: "Unsupported protocol version")
            #expect(server.engine.sessionCount == 0)
        }
    }

    @Test(arguments: ["EIO=4", "EIO=4&transport=abc"])
    func handshakeWithoutAKnownTransportIsRefused(query: String) async throws {
        try await withEngineServer { server in
            let response = try await server.http.get("/socket.io/?\(query)")
            try expectEngineError(response, code: 0, message: "Transport unknown")
        }
    }

    @Test(arguments: [HTTPMethod.POST, .PUT])
    func handshakeWithAnotherMethodThanGETIsRefused(method: HTTPMethod) async throws {
        try await withEngineServer { server in
            let response = try await server.http.request(method, server.uri(transport: "polling"))
            try expectEngineError(response, code: 2, message: "Bad handshake method")
            #expect(server.engine.sessionCount == 0)
        }
    }

    @Test func requestsForAnUnknownSessionAreRefused() async throws {
        try await withEngineServer { server in
            let get = try await server.http.get(server.uri(transport: "polling", sid: "nope"))
            try expectEngineError(get, code: 1, message: "Session ID unknown")
            let post = try await server.http.post(server.uri(transport: "polling", sid: "nope"), body: "4hello")
            try expectEngineError(post, code: 1, message: "Session ID unknown")
        }
    }

    @Test func websocketTransportWithoutAnUpgradeIsABadRequest() async throws {
        try await withEngineServer { server in
            let response = try await server.http.get(server.uri(transport: "websocket"))
            try expectEngineError(response, code: 3, message: "Bad request")
            #expect(server.engine.sessionCount == 0)
        }
    }

    @Test func theEnginePathMatchesWithoutItsTrailingSlash() async throws {
        try await withEngineServer { server in
            let response = try await server.http.get("/socket.io?EIO=4&transport=polling")
            #expect(response.status == .ok)
            #expect(response.text.hasPrefix("0{"))
        }
    }

    @Test func aPollingOnlyServerOffersNoUpgradeAndRefusesWebSockets() async throws {
        try await withEngineServer({ $0.transports = [.polling] }) { server in
            let handshake = try await server.http.get(server.uri(transport: "polling"))
            #expect(try openPacketJSON(handshake.text)["upgrades"] as? [String] == [])
            let refused = try await server.refusedWebSocket(server.uri(transport: "websocket"))
            try expectEngineError(refused, code: 0, message: "Transport unknown")
        }
    }

    @Test func aRequestForAnotherPathIsNotFound() async throws {
        try await withEngineServer { server in
            let response = try await server.http.get("/elsewhere/?EIO=4&transport=polling")
            #expect(response.status == .notFound)
            #expect(server.engine.sessionCount == 0)
        }
    }

    // MARK: Polling messages

    @Test func postedMessageIsEchoedToTheNextPoll() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let post = try await server.post(sid, "4hello")
            #expect(post.status == .ok)
            #expect(post.text == "ok")
            let poll = try await server.poll(sid)
            #expect(poll.status == .ok)
            #expect(poll.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            #expect(poll.text == "4hello")
        }
    }

    @Test func severalPacketsTravelInOnePayloadSeparatedByRecordSeparators() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let post = try await server.post(sid, "4test1\u{1e}4test2\u{1e}4test3")
            #expect(post.status == .ok)
            #expect(post.text == "ok")
            let poll = try await server.poll(sid)
            #expect(poll.text == "4test1\u{1e}4test2\u{1e}4test3")
        }
    }

    @Test func binaryPacketsTravelAsBase64() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let post = try await server.post(sid, "4hello\u{1e}bAQIDBA==")
            #expect(post.status == .ok)
            let poll = try await server.poll(sid)
            #expect(poll.text == "4hello\u{1e}bAQIDBA==")
        }
    }

    @Test func anInvalidPacketClosesTheSession() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let post = try await server.post(sid, "abc")
            #expect(post.status == .badRequest)
            #expect(try await server.delegate.waitForClose(of: sid) == .parseError)
            try expectEngineError(try await server.poll(sid), code: 1, message: "Session ID unknown")
        }
    }

    @Test func overlappingPollsCloseTheSession() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let first = try await server.http.connect()
            let second = try await server.http.connect()
            first.send(.GET, server.uri(transport: "polling", sid: sid))
            try await server.waitUntilPollParked(sid)
            second.send(.GET, server.uri(transport: "polling", sid: sid, extra: "&t=burst"))

            let refused = try await second.response()
            try expectEngineError(refused, code: 3, message: "Bad request")
            let released = try await first.response()
            #expect(released.status == .ok)
            #expect(released.text == "1", "the parked poll is answered with a close packet")
            #expect(try await server.delegate.waitForClose(of: sid) == .transportError)
            try expectEngineError(try await server.poll(sid), code: 1, message: "Session ID unknown")
            await first.close()
            await second.close()
        }
    }

    @Test func anAbortedParkedPollClosesTheSession() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let connection = try await server.http.connect()
            connection.send(.GET, server.uri(transport: "polling", sid: sid))
            try await server.waitUntilPollParked(sid)
            await connection.close()

            #expect(try await server.delegate.waitForClose(of: sid) == .transportError)
            try expectEngineError(try await server.poll(sid), code: 1, message: "Session ID unknown")
        }
    }

    @Test func pollingWorksOverOneKeepAliveConnection() async throws {
        try await withEngineServer { server in
            let connection = try await server.http.connect()
            let handshake = try await connection.request(.GET, server.uri(transport: "polling"))
            let sid = try #require(try openPacketJSON(handshake.text)["sid"] as? String)
            #expect(handshake.headers.first(name: "Connection") != "close")
            let post = try await connection.request(.POST, server.uri(transport: "polling", sid: sid), body: "4one")
            #expect(post.text == "ok")
            let poll = try await connection.request(.GET, server.uri(transport: "polling", sid: sid))
            #expect(poll.text == "4one")
            #expect(connection.channel.isActive)
            await connection.close()
        }
    }

    @Test func aPayloadOverMaxHttpBufferSizeIsRefusedAndClosesTheSession() async throws {
        try await withEngineServer({ $0.maxHttpBufferSize = 1000 }) { server in
            let handshake = try await server.http.get(server.uri(transport: "polling"))
            let open = try openPacketJSON(handshake.text)
            #expect(open["maxPayload"] as? Int == 1000)
            let sid = try #require(open["sid"] as? String)

            let connection = try await server.http.connect()
            let response = try await connection.request(
                .POST, server.uri(transport: "polling", sid: sid), body: "4" + String(repeating: "x", count: 1000))
            #expect(response.status == .payloadTooLarge)
            #expect(response.headers.first(name: "Connection") == "close")
            try await connection.waitForClose()
            #expect(try await server.delegate.waitForClose(of: sid) == .payloadTooLarge)
            try expectEngineError(try await server.poll(sid), code: 1, message: "Session ID unknown")
        }
    }

    @Test func aPayloadOfExactlyMaxHttpBufferSizeIsAccepted() async throws {
        try await withEngineServer({ $0.maxHttpBufferSize = 1000 }) { server in
            let sid = try await server.handshake()
            let message = "4" + String(repeating: "x", count: 999)
            let post = try await server.post(sid, message)
            #expect(post.status == .ok)
            #expect(try await server.poll(sid).text == message)
        }
    }

    @Test func aPollCarriesAtMostMaxPacketsPerPollAndTheRestFollowAtOnce() async throws {
        try await withEngineServer({ $0.maxPacketsPerPoll = 3 }) { server in
            let sid = try await server.handshake()
            let messages = (1...5).map { "4m\($0)" }
            #expect(try await server.post(sid, messages.joined(separator: "\u{1e}")).text == "ok")
            #expect(try await server.poll(sid).text == messages[0..<3].joined(separator: "\u{1e}"))
            #expect(try await server.poll(sid).text == messages[3...].joined(separator: "\u{1e}"))
        }
    }

    @Test func packetsPastMaxBufferedBytesCloseThePollingSession() async throws {
        try await withEngineServer({ $0.maxBufferedBytes = 200 }) { server in
            let sid = try await server.handshake()
            // The echo of a 301-byte message cannot wait in a 200-byte buffer (no GET is parked).
            #expect(try await server.post(sid, "4" + String(repeating: "z", count: 300)).text == "ok")
            #expect(try await server.delegate.waitForClose(of: sid) == .bufferFull)
            try expectEngineError(try await server.poll(sid), code: 1, message: "Session ID unknown")
        }
    }

    @Test func closingAllSessionsEndsPollingAndWebSocketSessions() async throws {
        try await withEngineServer { server in
            let pollingSid = try await server.handshake()
            let parked = try await server.http.connect()
            parked.send(.GET, server.uri(transport: "polling", sid: pollingSid))
            try await server.waitUntilPollParked(pollingSid)
            let socket = try await server.webSocket()
            let socketSid = try #require(try openPacketJSON(try await socket.nextText())["sid"] as? String)

            server.engine.closeAllSessions()
            #expect(try await parked.response().text == "1")
            #expect(try await socket.nextClose() == 1000)
            try await socket.waitForClose()
            #expect(try await server.delegate.waitForClose(of: pollingSid) == .serverShuttingDown)
            #expect(try await server.delegate.waitForClose(of: socketSid) == .serverShuttingDown)
            #expect(server.engine.sessionCount == 0)
            await parked.close()
        }
    }

    // MARK: Heartbeat

    @Test func pollingHeartbeatPingsAndAcceptsPongs() async throws {
        try await withEngineServer(heartbeat: true) { server in
            let sid = try await server.handshake()
            for round in 1...3 {
                let poll = try await server.poll(sid)
                #expect(poll.status == .ok, "round \(round)")
                #expect(poll.text == "2", "round \(round)")
                let pong = try await server.post(sid, "3")
                #expect(pong.status == .ok, "round \(round)")
            }
            #expect(server.delegate.closeReason(of: sid) == nil)
        }
    }

    @Test func pollingSessionWithoutPongTimesOut() async throws {
        try await withEngineServer(heartbeat: true) { server in
            let sid = try await server.handshake()
            #expect(try await server.delegate.waitForClose(of: sid) == .pingTimeout)
            try expectEngineError(try await server.poll(sid), code: 1, message: "Session ID unknown")
        }
    }

    @Test func pingTimeoutAnswersTheParkedPollWithAClosePacket() async throws {
        try await withEngineServer(heartbeat: true) { server in
            let sid = try await server.handshake()
            #expect(try await server.poll(sid).text == "2")
            let parked = try await server.http.connect()
            parked.send(.GET, server.uri(transport: "polling", sid: sid))
            let released = try await parked.response()
            #expect(released.status == .ok)
            #expect(released.text == "1")
            #expect(try await server.delegate.waitForClose(of: sid) == .pingTimeout)
            await parked.close()
        }
    }

    @Test func webSocketHeartbeatPingsAndAcceptsPongs() async throws {
        try await withEngineServer(heartbeat: true) { server in
            let socket = try await server.webSocket()
            let open = try openPacketJSON(try await socket.nextText())
            let sid = try #require(open["sid"] as? String)
            for round in 1...3 {
                #expect(try await socket.nextText() == "2", "round \(round)")
                socket.send(text: "3")
            }
            #expect(server.delegate.closeReason(of: sid) == nil)
            await socket.close()
        }
    }

    @Test func webSocketSessionWithoutPongTimesOut() async throws {
        try await withEngineServer(heartbeat: true) { server in
            let socket = try await server.webSocket()
            let sid = try #require(try openPacketJSON(try await socket.nextText())["sid"] as? String)
            #expect(try await socket.nextText() == "2")
            try await socket.waitForClose()
            #expect(try await server.delegate.waitForClose(of: sid) == .pingTimeout)
        }
    }

    // MARK: Close

    @Test func closePacketReleasesTheParkedPollWithANoop() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let parked = try await server.http.connect()
            parked.send(.GET, server.uri(transport: "polling", sid: sid))
            try await server.waitUntilPollParked(sid)

            let post = try await server.post(sid, "1")
            #expect(post.status == .ok)
            let released = try await parked.response()
            #expect(released.status == .ok)
            #expect(released.text == "6")
            #expect(try await server.delegate.waitForClose(of: sid) == .transportClose)
            try expectEngineError(try await server.poll(sid), code: 1, message: "Session ID unknown")
            await parked.close()
        }
    }

    @Test func serverCloseAnswersTheParkedPollWithAClosePacket() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let parked = try await server.http.connect()
            parked.send(.GET, server.uri(transport: "polling", sid: sid))
            try await server.waitUntilPollParked(sid)

            try #require(server.engine.session(id: sid)).close()
            let released = try await parked.response()
            #expect(released.text == "1")
            #expect(try await server.delegate.waitForClose(of: sid) == .forcedClose)
            #expect(server.engine.sessionCount == 0)
            await parked.close()
        }
    }

    // MARK: WebSocket

    @Test func webSocketOnlyHandshakeSendsTheOpenPacketFirst() async throws {
        try await withEngineServer(heartbeat: true) { server in
            let socket = try await server.webSocket()
            let text = try await socket.nextText()
            #expect(text.hasPrefix("0"))
            let open = try openPacketJSON(text)
            #expect(Set(open.keys) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"])
            #expect(open["upgrades"] as? [String] == [])
            #expect(open["pingInterval"] as? Int == 300)
            #expect(open["pingTimeout"] as? Int == 200)
            #expect(open["maxPayload"] as? Int == 1_000_000)
            let sid = try #require(open["sid"] as? String)
            let session = try #require(server.engine.session(id: sid))
            #expect(try await session.eventLoop.submit { session.transport }.get() == .websocket)
            await socket.close()
        }
    }

    @Test func webSocketEchoesTextAndBinaryMessages() async throws {
        try await withEngineServer { server in
            let socket = try await server.webSocket()
            _ = try await socket.nextText()
            socket.send(text: "4hello")
            #expect(try await socket.next() == .text("4hello"))
            socket.send(bytes: [1, 2, 3, 4])
            #expect(try await socket.next() == .binary([1, 2, 3, 4]))
            await socket.close()
        }
    }

    @Test func webSocketFragmentsAreReassembled() async throws {
        try await withEngineServer { server in
            let socket = try await server.webSocket()
            _ = try await socket.nextText()
            socket.send(text: "4hel", fin: false)
            socket.send(text: "l", fin: false, opcode: .continuation)
            socket.send(text: "o", fin: true, opcode: .continuation)
            #expect(try await socket.next() == .text("4hello"))
            socket.send(bytes: [1, 2], opcode: .binary, fin: false)
            socket.send(bytes: [3, 4], opcode: .continuation, fin: true)
            #expect(try await socket.next() == .binary([1, 2, 3, 4]))
            await socket.close()
        }
    }

    @Test func webSocketInvalidPacketClosesTheSession() async throws {
        try await withEngineServer { server in
            let socket = try await server.webSocket()
            let sid = try #require(try openPacketJSON(try await socket.nextText())["sid"] as? String)
            socket.send(text: "abc")
            try await socket.waitForClose()
            #expect(try await server.delegate.waitForClose(of: sid) == .parseError)
            #expect(server.engine.session(id: sid) == nil)
        }
    }

    @Test func webSocketClosePacketClosesTheSession() async throws {
        try await withEngineServer { server in
            let socket = try await server.webSocket()
            let sid = try #require(try openPacketJSON(try await socket.nextText())["sid"] as? String)
            socket.send(text: "1")
            try await socket.waitForClose()
            #expect(try await server.delegate.waitForClose(of: sid) == .transportClose)
        }
    }

    @Test func webSocketTextFrameWithInvalidUTF8IsClosedWith1007() async throws {
        try await withEngineServer { server in
            let socket = try await server.webSocket()
            let sid = try #require(try openPacketJSON(try await socket.nextText())["sid"] as? String)
            socket.send(bytes: [UInt8(ascii: "4"), 0xC3, 0x28], opcode: .text)
            #expect(try await socket.nextClose() == 1007)
            try await socket.waitForClose()
            _ = try await server.delegate.waitForClose(of: sid)
        }
    }

    @Test func webSocketFrameOverMaxHttpBufferSizeIsClosedWith1009() async throws {
        try await withEngineServer({ $0.maxHttpBufferSize = 1000 }) { server in
            let socket = try await server.webSocket()
            let sid = try #require(try openPacketJSON(try await socket.nextText())["sid"] as? String)
            socket.send(text: "4" + String(repeating: "y", count: 999))
            #expect(try await socket.nextText().count == 1000, "a frame of exactly maxHttpBufferSize is accepted")
            socket.send(text: "4" + String(repeating: "y", count: 1000))
            #expect(try await socket.nextClose() == 1009)
            try await socket.waitForClose()
            _ = try await server.delegate.waitForClose(of: sid)
        }
    }

    @Test func fragmentedWebSocketMessageOverMaxHttpBufferSizeIsClosedWith1009() async throws {
        try await withEngineServer({ $0.maxHttpBufferSize = 1000 }) { server in
            let socket = try await server.webSocket()
            let sid = try #require(try openPacketJSON(try await socket.nextText())["sid"] as? String)
            socket.send(text: "4" + String(repeating: "y", count: 599), fin: false)
            socket.send(text: String(repeating: "y", count: 600), fin: true, opcode: .continuation)
            #expect(try await socket.nextClose() == 1009)
            try await socket.waitForClose()
            _ = try await server.delegate.waitForClose(of: sid)
        }
    }

    @Test func webSocketUpgradeRequestsAreVerifiedLikePolling() async throws {
        try await withEngineServer { server in
            let badVersion = try await server.refusedWebSocket("/socket.io/?EIO=3&transport=websocket")
            try expectEngineError(badVersion, code: 5, message: "Unsupported protocol version")
            let noTransport = try await server.refusedWebSocket("/socket.io/?EIO=4")
            try expectEngineError(noTransport, code: 0, message: "Transport unknown")
            let unknownSid = try await server.refusedWebSocket(server.uri(transport: "websocket", sid: "nope"))
            try expectEngineError(unknownSid, code: 1, message: "Session ID unknown")
            #expect(server.engine.sessionCount == 0)
        }
    }

    // MARK: Upgrade

    @Test func pollingSessionUpgradesToWebSocket() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let socket = try await server.webSocket(sid: sid)
            socket.send(text: "2probe")
            #expect(try await socket.nextText() == "3probe")

            let duringUpgrade = try await server.poll(sid)
            #expect(duringUpgrade.status == .ok)
            #expect(duringUpgrade.text == "6", "a poll during the upgrade is answered with a noop")

            socket.send(text: "5")
            socket.send(text: "4hello")
            #expect(try await socket.nextText() == "4hello")
            let session = try #require(server.engine.session(id: sid))
            #expect(try await session.eventLoop.submit { session.transport }.get() == .websocket)

            try expectEngineError(try await server.poll(sid), code: 3, message: "Bad request")
            try expectEngineError(try await server.post(sid, "4late"), code: 3, message: "Bad request")

            try await server.expectWebSocketTurnedAway(server.uri(transport: "websocket", sid: sid))

            socket.send(text: "4again")
            #expect(try await socket.nextText() == "4again")
            #expect(server.delegate.openedSessionIDs == [sid])
            #expect(server.delegate.closeReason(of: sid) == nil)
            await socket.close()
            #expect(try await server.delegate.waitForClose(of: sid) == .transportClose)
        }
    }

    @Test func probeReleasesTheParkedPollWithANoop() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let parked = try await server.http.connect()
            parked.send(.GET, server.uri(transport: "polling", sid: sid))
            try await server.waitUntilPollParked(sid)

            let socket = try await server.webSocket(sid: sid)
            socket.send(text: "2probe")
            #expect(try await socket.nextText() == "3probe")
            let released = try await parked.response()
            #expect(released.text == "6")
            socket.send(text: "5")
            socket.send(text: "4hi")
            #expect(try await socket.nextText() == "4hi")
            #expect(server.delegate.closeReason(of: sid) == nil, "releasing the poll does not close the session")
            await parked.close()
            await socket.close()
        }
    }

    @Test func packetsSentDuringTheUpgradeArriveOverTheWebSocket() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let socket = try await server.webSocket(sid: sid)
            socket.send(text: "2probe")
            #expect(try await socket.nextText() == "3probe")
            // Posted over polling while upgrading: the echo waits for the new transport.
            #expect(try await server.post(sid, "4during").text == "ok")
            #expect(try await server.poll(sid).text == "6")
            socket.send(text: "5")
            #expect(try await socket.nextText() == "4during")
            await socket.close()
        }
    }

    @Test func aSecondCandidateIsTurnedAwayWhileAnUpgradeIsPending() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let first = try await server.webSocket(sid: sid)
            first.send(text: "2probe")
            #expect(try await first.nextText() == "3probe")
            try await server.expectWebSocketTurnedAway(server.uri(transport: "websocket", sid: sid))
            first.send(text: "5")
            first.send(text: "4first")
            #expect(try await first.nextText() == "4first", "the pending candidate is unaffected")
            await first.close()
        }
    }

    @Test func closingTheSessionDuringAnUpgradeClosesTheCandidate() async throws {
        try await withEngineServer { server in
            let sid = try await server.handshake()
            let socket = try await server.webSocket(sid: sid)
            socket.send(text: "2probe")
            #expect(try await socket.nextText() == "3probe")
            #expect(try await server.post(sid, "1").text == "ok")
            #expect(try await server.delegate.waitForClose(of: sid) == .transportClose)
            try await socket.waitForClose()
        }
    }

    @Test func upgradeTimeoutClosesOnlyTheCandidate() async throws {
        try await withEngineServer({ $0.upgradeTimeout = .milliseconds(200) }) { server in
            let sid = try await server.handshake()
            let socket = try await server.webSocket(sid: sid)
            socket.send(text: "2probe")
            #expect(try await socket.nextText() == "3probe")
            // No "5": the candidate is dropped when the upgrade timeout passes.
            try await socket.waitForClose()

            #expect(server.delegate.closeReason(of: sid) == nil)
            let session = try #require(server.engine.session(id: sid))
            #expect(try await session.eventLoop.submit { session.transport }.get() == .polling)
            #expect(try await server.post(sid, "4still").text == "ok")
            #expect(try await server.poll(sid).text == "4still")
        }
    }

    @Test func disallowingUpgradesAnnouncesNoneAndRefusesTheWebSocket() async throws {
        try await withEngineServer({ $0.allowUpgrades = false }) { server in
            let handshake = try await server.http.get(server.uri(transport: "polling"))
            let open = try openPacketJSON(handshake.text)
            #expect(open["upgrades"] as? [String] == [])
            let sid = try #require(open["sid"] as? String)
            let refused = try await server.refusedWebSocket(server.uri(transport: "websocket", sid: sid))
            #expect(refused.status == .badRequest)
            #expect(try await server.post(sid, "4x").text == "ok")
            #expect(try await server.poll(sid).text == "4x")
        }
    }

    // MARK: CORS

    @Test func pollingResponsesCarryCORSHeadersForAnAllowedOrigin() async throws {
        try await withEngineServer({ $0.cors = CORSConfiguration(allowedOrigins: ["http://ok.test"]) }) { server in
            let origin: HTTPHeaders = ["Origin": "http://ok.test"]
            let handshake = try await server.http.get(server.uri(transport: "polling"), headers: origin)
            #expect(handshake.status == .ok)
            #expect(handshake.headers.first(name: "Access-Control-Allow-Origin") == "http://ok.test")
            let sid = try #require(try openPacketJSON(handshake.text)["sid"] as? String)
            let post = try await server.http.post(server.uri(transport: "polling", sid: sid), body: "4x", headers: origin)
            #expect(post.headers.first(name: "Access-Control-Allow-Origin") == "http://ok.test")
            let poll = try await server.http.get(server.uri(transport: "polling", sid: sid), headers: origin)
            #expect(poll.headers.first(name: "Access-Control-Allow-Origin") == "http://ok.test")

            let other = try await server.http.get(server.uri(transport: "polling"), headers: ["Origin": "http://evil.test"])
            #expect(other.headers.first(name: "Access-Control-Allow-Origin") == nil)
            let none = try await server.http.get(server.uri(transport: "polling"))
            #expect(none.headers.first(name: "Access-Control-Allow-Origin") == nil)
        }
    }

    @Test func preflightIsAnsweredWithNoContentAndTheCORSHeaders() async throws {
        try await withEngineServer({ $0.cors = CORSConfiguration(allowedOrigins: ["http://ok.test"]) }) { server in
            let response = try await server.http.request(
                .OPTIONS, server.uri(transport: "polling"),
                headers: ["Origin": "http://ok.test", "Access-Control-Request-Method": "POST",
                          "Access-Control-Request-Headers": "content-type"])
            #expect(response.status == .noContent)
            #expect(response.headers.first(name: "Access-Control-Allow-Origin") == "http://ok.test")
            let methods = response.headers.first(name: "Access-Control-Allow-Methods") ?? ""
            #expect(methods.contains("GET") && methods.contains("POST"))
            #expect(response.headers.first(name: "Access-Control-Allow-Headers") == "content-type")
            #expect(server.engine.sessionCount == 0)
        }
    }

    @Test func webSocketFromADisallowedOriginIsRefused() async throws {
        try await withEngineServer({ $0.cors = CORSConfiguration(allowedOrigins: ["http://ok.test"]) }) { server in
            let refused = try await server.refusedWebSocket(server.uri(transport: "websocket"), headers: ["Origin": "http://evil.test"])
            #expect(refused.status != .switchingProtocols)
            #expect(refused.status.code >= 400 && refused.status.code < 500)
            #expect(server.delegate.openedSessionIDs.isEmpty)

            let allowed = try await server.webSocket(headers: ["Origin": "http://ok.test"])
            #expect(try await allowed.nextText().hasPrefix("0"))
            await allowed.close()
        }
    }

    @Test func webSocketFromTheServersOwnOriginIsAccepted() async throws {
        try await withEngineServer({ $0.cors = CORSConfiguration(allowedOrigins: ["http://ok.test"]) }) { server in
            // What websocket-client sends: the URL it connects to as Origin, with a matching Host.
            let port = server.address.port!
            let own = try await server.webSocket(headers: ["Origin": "http://127.0.0.1:\(port)", "Host": "127.0.0.1:\(port)"])
            #expect(try await own.nextText().hasPrefix("0"))
            await own.close()
            // The same origin sent to another Host is cross-origin, and not on the list.
            let refused = try await server.refusedWebSocket(server.uri(transport: "websocket"),
                                                            headers: ["Origin": "http://127.0.0.1:\(port)", "Host": "hub.example:80"])
            #expect(refused.status == .forbidden)
        }
    }

    @Test func webSocketFromADisallowedOriginIsAnsweredForbidden() async throws {
        try await withEngineServer({ $0.cors = CORSConfiguration(allowedOrigins: ["http://ok.test"]) }) { server in
            let refused = try await server.refusedWebSocket(server.uri(transport: "websocket"), headers: ["Origin": "http://evil.test"])
            // EngineError.forbidden is documented as the refusal for a CORS origin.
            try expectEngineError(refused, code: 4, message: "Forbidden", status: .forbidden)
        }
    }
}

import EngineIO
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SocketIO
import TestSupport
import Testing

/// ``SocketIOServer`` end to end: namespace connections, connect middlewares, dynamic namespaces,
/// the connect timeout, disconnections from either side and invalid packets. A real
/// ``HTTPServer`` on loopback (Support/SocketIOTestServer.swift), driven by the Socket.IO test
/// client (Support/SocketIOTestClient.swift).
@Suite("Socket.IO server: connections and namespaces")
struct SocketIOServerTests {
    // MARK: Connecting

    @Test func connectingToTheMainNamespaceRepliesWithTheSocketID() async throws {
        try await withSocketIOServer { server in
            let sockets = ConnectedSockets()
            sockets.track(server.io.sockets)
            let client = try await server.open()
            client.sendConnect()
            let reply = try await client.nextReceived()
            #expect(reply.packet.type == .connect)
            #expect(reply.packet.namespace == "/")
            let sid = try #require(reply.packet.data?["sid"]?.stringValue)
            #expect(!sid.isEmpty)
            #expect(reply.text == #"0{"sid":"\#(sid)"}"#, "exactly {sid} without recovery")
            #expect(sid != client.engineSID, "the socket id is not the Engine.IO session id")

            let socket = try await sockets.next()
            #expect(socket.id == sid)
            #expect(socket.namespace.name == "/")
            #expect(!socket.recovered)
            #expect(try await socket.currentRooms() == [sid])
            #expect(try await server.io.sockets.socketIDs() == [sid])
        }
    }

    @Test func connectingToAnUnknownNamespaceIsRefusedAndTheConnectionStaysUsable() async throws {
        try await withSocketIOServer { server in
            _ = server.io.of("/chat")
            let client = try await server.open()
            client.sendConnect("/unknown")
            let reply = try await client.nextReceived()
            #expect(reply.packet == SocketPacket(type: .connectError, namespace: "/unknown", data: ["message": "Invalid namespace"]))
            #expect(reply.text == #"4/unknown,{"message":"Invalid namespace"}"#)
            #expect(!server.io.namespaces.contains { $0.name == "/unknown" }, "no namespace is created for it")

            let chat = try await client.connect("/chat")
            #expect(chat["sid"]?.stringValue?.isEmpty == false)
            #expect(client.isOpen)
        }
    }

    @Test func aSecondConnectToTheSameNamespaceIsAnsweredWithTheSameSocket() async throws {
        try await withSocketIOServer { server in
            let connections = NIOLockedValueBox(0)
            server.io.onConnection { socket in
                connections.withLockedValue { $0 += 1 }
                socket.on("ping") { _, ack in ack?("pong") }
            }
            let (client, sid) = try await server.connectedClient()
            let again = try await client.connect()
            #expect(again == ["sid": .string(sid)])
            // A round trip after the second reply: a second connection handler would have run by now.
            #expect(try await client.emitWithAck("ping") == ["pong"])
            #expect(connections.withLockedValue { $0 } == 1)
            #expect(try await server.io.sockets.socketIDs() == [sid])
        }
    }

    // MARK: Middlewares

    @Test func aRefusingMiddlewareSendsItsConnectErrorAndTheSocketNeverConnects() async throws {
        try await withSocketIOServer { server in
            let reached = TestAsyncQueue<String>()
            server.io.use { _ in throw ConnectError(message: "unauthorized", data: ["reason": "x"]) }
            server.io.onConnection { socket in
                reached.push(socket.id)
                socket.on("probe") { _, ack in ack?("reached") }
            }
            server.io.of("/open").onConnection { socket in socket.on("ping") { _, ack in ack?("pong") } }

            let client = try await server.open()
            client.sendConnect()
            let reply = try await client.nextReceived()
            #expect(reply.packet == SocketPacket(
                type: .connectError, namespace: "/", data: ["message": "unauthorized", "data": ["reason": "x"]]))
            #expect(reply.text == #"4{"message":"unauthorized","data":{"reason":"x"}}"#)

            // Another namespace on the same connection works.
            _ = try await client.connect("/open")
            #expect(try await client.emitWithAck("ping", namespace: "/open") == ["pong"])
            // An event for the refused namespace is an invalid state: socket.io closes the
            // connection, and so does this server; the event reaches no socket.
            client.emit("probe", arguments: [], ackID: 9)
            let beforeClose = try await client.packetsUntilClose()
            #expect(beforeClose.isEmpty, "no ack for the refused namespace: \(beforeClose)")
            #expect(reached.isEmpty, "onConnection never ran")
            #expect(try await server.io.sockets.socketIDs().isEmpty)
            #expect(try await server.io.sockets.roomSizes().isEmpty)
        }
    }

    @Test func aMiddlewareThrowingAnotherErrorRefusesWithServerError() async throws {
        struct Boom: Error {}
        try await withSocketIOServer { server in
            server.io.use { _ in throw Boom() }
            let client = try await server.open()
            #expect(try await client.connectExpectingError() == ["message": "server error"])
        }
    }

    @Test func anAsyncMiddlewareThatAcceptsLetsTheSocketConnectInOrder() async throws {
        try await withSocketIOServer { server in
            let steps = TestAsyncQueue<String>()
            server.io.use { socket in steps.push("sync before \(socket.id.isEmpty)") }
            server.io.sockets.use { _ async throws in
                try await Task.sleep(for: .milliseconds(50))
                steps.push("async")
            }
            server.io.use { _ in steps.push("sync after") }
            server.io.onConnection { socket in steps.push("connection \(socket.id)") }

            let (_, sid) = try await server.connectedClient()
            #expect(try await steps.next(4, "middlewares and connection") == [
                "sync before false", "async", "sync after", "connection \(sid)",
            ])
            #expect(try await server.io.sockets.socketIDs() == [sid])
        }
    }

    @Test func anAsyncMiddlewareThatRefusesStopsTheChain() async throws {
        try await withSocketIOServer { server in
            let steps = TestAsyncQueue<String>()
            server.io.sockets.use { _ async throws in
                try await Task.sleep(for: .milliseconds(50))
                steps.push("async")
                throw ConnectError(message: "later", data: ["retry": true])
            }
            server.io.use { _ in steps.push("sync after") }
            server.io.onConnection { _ in steps.push("connection") }

            let client = try await server.open()
            #expect(try await client.connectExpectingError() == ["message": "later", "data": ["retry": true]])
            #expect(try await steps.next(timeout: testClientTimeout, "the async middleware") == "async")
            #expect(steps.isEmpty, "neither the next middleware nor onConnection ran")
            #expect(try await server.io.sockets.socketIDs().isEmpty)
            // The refusal is per attempt: the connection itself stays open.
            #expect(client.isOpen)
        }
    }

    @Test func middlewaresRunInOrderAndSeeTheHandshake() async throws {
        try await withSocketIOServer { server in
            let seen = TestAsyncQueue<String>()
            server.io.use { socket in seen.push("1 auth=\(socket.handshake.auth.jsonString)") }
            server.io.use { socket in seen.push("2 header=\(socket.handshake.headers.first(name: "x-client") ?? "-")") }
            server.io.use { socket in seen.push("3 query=\(socket.handshake.query["room"] ?? "-") url=\(socket.handshake.url)") }
            server.io.onConnection { socket in
                seen.push("connection address=\(socket.handshake.address?.ipAddress ?? "-")")
            }

            let client = try await server.open(extraQuery: "&room=lobby", headers: ["X-Client": "tests"])
            _ = try await client.connectSID(auth: ["token": "abc", "n": 1])
            #expect(try await seen.next(4, "middlewares") == [
                #"1 auth={"token":"abc","n":1}"#,
                "2 header=tests",
                "3 query=lobby url=/socket.io/?EIO=4&transport=websocket&room=lobby",
                "connection address=127.0.0.1",
            ])

            // Without an auth payload the middlewares see an empty object.
            let bare = try await server.open()
            _ = try await bare.connectSID()
            #expect(try await seen.next(4, "middlewares")[0] == "1 auth={}")
        }
    }

    @Test func middlewaresOfOneNamespaceDoNotRunForAnother() async throws {
        try await withSocketIOServer { server in
            let seen = TestAsyncQueue<String>()
            server.io.use { _ in seen.push("/") }
            server.io.of("/admin").use { _ in seen.push("/admin") }
            let client = try await server.open()
            _ = try await client.connectSID("/admin")
            _ = try await client.connectSID("/")
            #expect(try await seen.next(2, "middlewares") == ["/admin", "/"])
        }
    }

    // MARK: Dynamic namespaces

    @Test func aDynamicNamespaceCreatesMatchingChildrenWithTheParentsHandlers() async throws {
        try await withSocketIOServer { server in
            let parent = server.io.of(matching: { $0.hasPrefix("/tenant-") })
            let seen = TestAsyncQueue<String>()
            let children = TestAsyncQueue<Socket>()
            parent.use { socket in seen.push("middleware \(socket.namespace.name) auth=\(socket.handshake.auth.jsonString)") }
            parent.onConnection { socket in
                seen.push("connection \(socket.namespace.name)")
                children.push(socket)
            }

            let client = try await server.open()
            let sid = try await client.connectSID("/tenant-42", auth: ["key": "k"])
            #expect(try await seen.next(2, "parent handlers") == [#"middleware /tenant-42 auth={"key":"k"}"#, "connection /tenant-42"])
            let socket = try await children.next(timeout: testClientTimeout, "the child socket")
            #expect(socket.id == sid)
            #expect(socket.namespace.parent === parent)
            #expect(server.io.namespaces.contains { $0.name == "/tenant-42" })
            #expect(try await server.io.of("/tenant-42").socketIDs() == [sid])

            // A second client of the same tenant joins the same child namespace.
            let other = try await server.open()
            _ = try await other.connectSID("/tenant-42")
            _ = try await seen.next(2, "parent handlers")
            #expect(try await children.next(timeout: testClientTimeout, "the second child socket").namespace === socket.namespace)

            // A name the matcher refuses stays invalid, and the parent's own name is not reachable.
            #expect(try await client.connectExpectingError("/other") == ["message": "Invalid namespace"])
            #expect(try await client.connectExpectingError(parent.name) == ["message": "Invalid namespace"])
            #expect(!server.io.namespaces.contains { $0.name == "/other" })
            #expect(seen.isEmpty, "the parent's middleware did not run for refused names")

            // The parent's emit reaches its children, in their own namespace.
            parent.emit("hello", "tenants")
            #expect(try await client.expectEvent("hello", namespace: "/tenant-42") == ["tenants"])
            #expect(try await other.expectEvent("hello", namespace: "/tenant-42") == ["tenants"])
        }
    }

    @Test func aDynamicParentsMiddlewareCanRefuseAChild() async throws {
        try await withSocketIOServer { server in
            let parent = server.io.of(matching: { $0.hasPrefix("/tenant-") })
            parent.use { socket in
                guard socket.handshake.auth["key"] == "secret" else { throw ConnectError(message: "forbidden") }
            }
            let client = try await server.open()
            #expect(try await client.connectExpectingError("/tenant-1") == ["message": "forbidden"])
            _ = try await client.connectSID("/tenant-1", auth: ["key": "secret"])
        }
    }

    /// socket.io's ParentNamespace broadcasts through its children's adapters, so
    /// `parentNamespace.to(room).emit(…)` reaches the members of `room` in every child namespace.
    @Test func aDynamicParentsRoomBroadcastReachesTheChildrensRooms() async throws {
        try await withSocketIOServer { server in
            let parent = server.io.of(matching: { $0.hasPrefix("/tenant-") })
            parent.onConnection { socket in
                socket.on("join") { arguments, ack in
                    socket.join(arguments[0].stringValue!)
                    ack?()
                }
            }
            let vip = try await server.open()
            _ = try await vip.connectSID("/tenant-1")
            #expect(try await vip.emitWithAck("join", "vip", namespace: "/tenant-1") == [])
            let plain = try await server.open()
            _ = try await plain.connectSID("/tenant-2")

            parent.to("vip").emit("news", "for vips")
            parent.emit("marker")
            #expect(try await vip.expectEvent("news", namespace: "/tenant-1") == ["for vips"])
            #expect(try await vip.expectEvent("marker", namespace: "/tenant-1") == [])
            #expect(try await plain.expectEvent("marker", namespace: "/tenant-2") == [])
        }
    }

    // MARK: Connect timeout

    @Test func aConnectionThatNeverConnectsANamespaceIsClosedAfterConnectTimeout() async throws {
        // One loop: the timers fire in deadline order, so by the time the last client is closed every
        // earlier client's timer is due.
        try await withSocketIOServer(threads: 1, { $0.connectTimeout = .milliseconds(300) }) { server in
            server.io.onConnection { socket in socket.on("ping") { _, ack in ack?("pong") } }
            // Setting up must itself beat the 300 ms: on a starved machine the session may be closed
            // before its CONNECT arrives, so the connected client gets a few attempts.
            var connected: SocketIOTestClient?
            for _ in 0..<5 where connected == nil {
                let client = try await server.open()
                do {
                    _ = try await client.connectSID()
                    connected = client
                } catch TestClientError.connectionClosed {
                    continue
                }
            }
            let client = try #require(connected)
            let refused = try await server.open()
            refused.sendConnect("/nope")
            let idle = try await server.open()

            #expect(try await idle.packetsUntilClose().isEmpty)
            #expect(idle.closeCode == 1000)
            // A refused CONNECT does not count as connected (the refusal may or may not have come first).
            let refusal = SocketPacket(type: .connectError, namespace: "/nope", data: ["message": "Invalid namespace"])
            #expect(try await refused.packetsUntilClose().allSatisfy { $0 == refusal })

            #expect(try await client.emitWithAck("ping") == ["pong"])
            #expect(client.isOpen)
            #expect(server.io.engine.sessionCount == 1)
        }
    }

    // MARK: Heartbeat

    @Test func aClientThatAnswersPingsStaysConnectedAcrossHeartbeats() async throws {
        try await withSocketIOServer({
            $0.engine.pingInterval = .milliseconds(100)
            // Generous: a loaded CI machine must not turn a late pong into a dropped client here.
            $0.engine.pingTimeout = .milliseconds(3000)
        }) { server in
            let reasons = TestAsyncQueue<String>()
            server.io.onConnection { socket in
                socket.on("ping") { _, ack in ack?("pong") }
                socket.onDisconnect { reasons.push($0) }
            }
            let (client, sid) = try await server.connectedClient()
            // Waits (hang guard only) until several pings were answered.
            let deadline = NIODeadline.now() + testClientTimeout
            while client.pingsAnswered < 3 {
                try #require(NIODeadline.now() < deadline, "timed out waiting for pings")
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await client.emitWithAck("ping") == ["pong"])
            #expect(try await server.io.sockets.socketIDs() == [sid])
            #expect(reasons.isEmpty)
        }
    }

    // MARK: Disconnecting

    @Test func aClientDisconnectRunsOnDisconnectingWithRoomsThenOnDisconnect() async throws {
        try await withSocketIOServer { server in
            let log = TestAsyncQueue<String>()
            server.io.sockets.onDisconnecting { socket, reason in
                log.push("disconnecting \(reason) rooms=\(socket.rooms.sorted()) connected=\(socket.connected)")
            }
            server.io.onConnection { socket in
                socket.join("lobby")
                socket.onDisconnect { reason in
                    log.push("disconnect \(reason) rooms=\(socket.rooms.sorted()) connected=\(socket.connected)")
                }
            }
            let (client, sid) = try await server.connectedClient()
            #expect(try await server.io.sockets.roomSizes() == [sid: 1, "lobby": 1])

            client.sendDisconnect()
            #expect(try await log.next(2, "the disconnect handlers") == [
                "disconnecting client namespace disconnect rooms=\([sid, "lobby"].sorted()) connected=true",
                "disconnect client namespace disconnect rooms=[] connected=false",
            ])
            #expect(try await server.io.sockets.socketIDs().isEmpty)
            #expect(try await server.io.sockets.roomSizes().isEmpty)

            // The Engine.IO connection stays; connecting again gives a new socket.
            let again = try await client.connectSID()
            #expect(again != sid)
            #expect(client.isOpen)
        }
    }

    @Test func aServerDisconnectSendsDisconnectAndKeepsTheConnection() async throws {
        try await withSocketIOServer { server in
            let sockets = ConnectedSockets()
            sockets.track(server.io.sockets)
            let reasons = TestAsyncQueue<String>()
            server.io.onConnection { socket in socket.onDisconnect { reasons.push("/ \($0)") } }
            server.io.of("/chat").onConnection { socket in
                socket.on("ping") { _, ack in ack?("pong") }
                socket.onDisconnect { reasons.push("/chat \($0)") }
            }
            let (client, sid) = try await server.connectedClient()
            _ = try await client.connectSID("/chat")
            let socket = try await sockets.next(sid: sid)

            socket.disconnect()
            let received = try await client.nextReceived()
            #expect(received.packet == SocketPacket(type: .disconnect, namespace: "/"))
            #expect(received.text == "1")
            #expect(try await reasons.next(timeout: testClientTimeout, "the disconnect") == "/ server namespace disconnect")
            #expect(try await socket.isConnected() == false)
            #expect(try await server.io.sockets.socketIDs().isEmpty)

            #expect(try await client.emitWithAck("ping", namespace: "/chat") == ["pong"])
            #expect(client.isOpen)
            #expect(reasons.isEmpty)
        }
    }

    @Test func aServerDisconnectWithCloseClosesTheConnection() async throws {
        try await withSocketIOServer { server in
            let sockets = ConnectedSockets()
            sockets.track(server.io.of("/chat"))
            let reasons = TestAsyncQueue<String>()
            server.io.onConnection { socket in socket.onDisconnect { reasons.push("/ \($0)") } }
            server.io.of("/chat").onConnection { socket in socket.onDisconnect { reasons.push("/chat \($0)") } }
            let (client, _) = try await server.connectedClient()
            let chatSID = try await client.connectSID("/chat")
            let socket = try await sockets.next(sid: chatSID)

            socket.disconnect(close: true)
            #expect(try await client.packetsUntilClose() == [SocketPacket(type: .disconnect, namespace: "/chat")])
            #expect(Set(try await reasons.next(2, "both disconnects")) == ["/chat server namespace disconnect", "/ forced close"])
            #expect(server.io.engine.sessionCount == 0)
        }
    }

    // MARK: Invalid packets

    @Test(arguments: [
        "4abc",  // not a packet type
        "42{}",  // an event whose payload is not an array
        #"42abc["ev"]"#,  // junk before the payload
        "47",  // packet type 7
        #"42["disconnect"]"#,  // a reserved event name
        #"40[1]"#,  // a CONNECT whose payload is not an object
        #"44{"message":"x"}"#,  // CONNECT_ERROR is server → client only
    ])
    func anInvalidPacketClosesTheConnection(_ frame: String) async throws {
        try await withSocketIOServer { server in
            let reasons = TestAsyncQueue<String>()
            server.io.onConnection { socket in socket.onDisconnect { reasons.push($0) } }
            let (client, _) = try await server.connectedClient()
            client.sendRaw(frame)
            #expect(try await client.packetsUntilClose().isEmpty)
            #expect(try await reasons.next(timeout: testClientTimeout, "the disconnect") == "parse error")
        }
    }

    @Test(arguments: [
        #"453-["upload",{"_placeholder":true,"num":0}]"#,  // more attachments than maxAttachments (2)
        #"42["deep",[[[[["too deep"]]]]]]"#,  // deeper than maxJSONDepth (4)
    ])
    func aPacketPastTheConfiguredLimitsClosesTheConnection(_ frame: String) async throws {
        try await withSocketIOServer({
            $0.maxAttachments = 2
            $0.maxJSONDepth = 4
        }) { server in
            let reasons = TestAsyncQueue<String>()
            server.io.onConnection { socket in
                socket.on("deep") { _, ack in ack?("accepted") }
                socket.onDisconnect { reasons.push($0) }
            }
            let (client, _) = try await server.connectedClient()
            // Within the limits, the same shapes are accepted.
            #expect(try await client.emitWithAck("deep", [[["ok"]]]) == ["accepted"])
            client.sendRaw(frame)
            #expect(try await client.packetsUntilClose().isEmpty)
            #expect(try await reasons.next(timeout: testClientTimeout, "the disconnect") == "parse error")
        }
    }

    @Test func anUnexpectedBinaryMessageClosesTheConnection() async throws {
        try await withSocketIOServer { server in
            let reasons = TestAsyncQueue<String>()
            server.io.onConnection { socket in socket.onDisconnect { reasons.push($0) } }
            let (client, _) = try await server.connectedClient()
            client.sendRawBinary([1, 2, 3])
            #expect(try await client.packetsUntilClose().isEmpty)
            #expect(try await reasons.next(timeout: testClientTimeout, "the disconnect") == "parse error")
        }
    }

    @Test func aTextMessageWhileAttachmentsAreAwaitedClosesTheConnection() async throws {
        try await withSocketIOServer { server in
            let reasons = TestAsyncQueue<String>()
            server.io.onConnection { socket in socket.onDisconnect { reasons.push($0) } }
            let (client, _) = try await server.connectedClient()
            client.sendRaw(#"451-["upload",{"_placeholder":true,"num":0}]"#)
            client.sendRaw(#"42["next"]"#)
            #expect(try await client.packetsUntilClose().isEmpty)
            #expect(try await reasons.next(timeout: testClientTimeout, "the disconnect") == "parse error")
        }
    }
}

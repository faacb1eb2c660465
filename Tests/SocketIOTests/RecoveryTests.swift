import EngineIO
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import TestSupport
import Testing

/// Connection-state recovery end to end, as socket.io 4.6+ clients use it: the CONNECT reply's
/// `pid`, the offset appended to broadcasts, and a reconnect with `{pid, offset}` after a transport
/// close that resumes the socket (id, rooms, userInfo) and replays what it missed.
@Suite("Socket.IO server: connection-state recovery")
struct RecoveryTests {
    /// What the connection handler saw.
    struct Connection: Sendable, Equatable {
        var id: String
        var recovered: Bool
        var rooms: [String]
        var user: String?
    }

    /// The server side: connections and disconnections as they happen.
    struct Observed: Sendable {
        let connections = TestAsyncQueue<Connection>()
        let disconnects = TestAsyncQueue<String>()
        let sockets = TestAsyncQueue<Socket>()

        func nextConnection() async throws -> Connection {
            try await self.connections.next(timeout: testClientTimeout, "a connection")
        }

        func nextDisconnect() async throws -> String {
            try await self.disconnects.next(timeout: testClientTimeout, "a disconnection")
        }
    }

    /// A server with recovery on: its sockets join rooms on request, a new socket gets
    /// `userInfo["user"] = "alice"`, and every connection and disconnection is recorded.
    func withRecoveryServer(_ configure: (inout ConnectionStateRecovery) -> Void = { _ in },
                            _ body: (SocketIOTestServer, Observed) async throws -> Void) async throws {
        var recovery = ConnectionStateRecovery()
        configure(&recovery)
        let settings = recovery
        try await withSocketIOServer({ $0.connectionStateRecovery = settings }) { server in
            let observed = Observed()
            server.io.onConnection { socket in
                if !socket.recovered {
                    socket.userInfo["user"] = "alice"
                }
                observed.connections.push(Connection(
                    id: socket.id, recovered: socket.recovered, rooms: socket.rooms.sorted(),
                    user: socket.userInfo["user"] as? String))
                observed.sockets.push(socket)
                socket.on("join") { arguments, ack in
                    for room in arguments { socket.join(room.stringValue!) }
                    ack?()
                }
                socket.onDisconnect { reason in observed.disconnects.push(reason) }
            }
            try await body(server, observed)
        }
    }

    /// The `sid` and `pid` of a CONNECT reply.
    func identity(_ reply: JSONValue) throws -> (sid: String, pid: String) {
        (try #require(reply["sid"]?.stringValue), try #require(reply["pid"]?.stringValue))
    }

    /// The offset a broadcast carries as its last argument.
    func offset(_ arguments: [JSONValue]) throws -> String {
        try #require(arguments.last?.stringValue)
    }

    // MARK: Offsets

    @Test func theConnectReplyCarriesTheSocketIDAndAPrivateID() async throws {
        try await self.withRecoveryServer { server, observed in
            let client = try await server.open()
            let reply = try await client.connect()
            let (sid, pid) = try self.identity(reply)
            #expect(reply == ["sid": .string(sid), "pid": .string(pid)])
            #expect(!pid.isEmpty)
            #expect(pid != sid)
            #expect(try await observed.nextConnection() == Connection(id: sid, recovered: false, rooms: [sid], user: "alice"))

            let other = try await server.open()
            let (otherSID, otherPID) = try self.identity(try await other.connect())
            #expect(otherSID != sid)
            #expect(otherPID != pid)
        }
    }

    @Test func broadcastsCarryTheirOffsetAsLastArgument() async throws {
        try await self.withRecoveryServer { server, observed in
            let (client, sid) = try await server.connectedClient()
            #expect(try await client.emitWithAck("join", "room-a") == [])

            server.io.emit("news", "one", ["n": 1])
            let first = try await client.expectEvent("news")
            #expect(first.count == 3)
            #expect(Array(first.prefix(2)) == ["one", ["n": 1]])
            let firstOffset = try self.offset(first)
            #expect(!firstOffset.isEmpty)

            server.io.to("room-a").emit("news", "two")
            let second = try await client.expectEvent("news")
            #expect(second.first == "two")
            let secondOffset = try self.offset(second)
            #expect(second.count == 2)
            #expect(secondOffset != firstOffset)

            #expect(try await server.io.to(sid).emitCounting("news", arguments: ["three"]).get() == 1)
            let third = try await client.expectEvent("news")
            #expect(third.count == 2)
            #expect(Set([firstOffset, secondOffset, try self.offset(third)]).count == 3)

            // Volatile broadcasts are not logged for replay, so they carry no offset.
            server.io.sockets.volatile.emit("flash", "v")
            #expect(try await client.expectEvent("flash") == ["v"])
        }
    }

    // MARK: Recovering

    @Test func aClientReconnectingAfterATransportCloseRecoversItsSession() async throws {
        try await self.withRecoveryServer { server, observed in
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            _ = try await observed.nextConnection()
            #expect(try await client.emitWithAck("join", "room-a", "room-c") == [])
            server.io.to("room-a").emit("news", "seen")
            let offset = try self.offset(try await client.expectEvent("news"))

            // The transport goes away without a DISCONNECT packet.
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")
            #expect(try await server.io.sockets.socketIDs().isEmpty)

            server.io.to("room-a").emit("news", "missed-1")
            server.io.to("room-b").emit("news", "other room")
            server.io.except("room-a").emit("news", "excluded")
            server.io.emit("news", "missed-2 to all")
            server.io.to("room-c").to("room-a").emit("news", "missed-3 via two rooms")
            server.io.sockets.volatile.emit("news", "volatile")

            let again = try await server.open()
            let reply = try await again.connect(auth: ["pid": .string(pid), "offset": .string(offset)])
            #expect(reply == ["sid": .string(sid), "pid": .string(pid)])
            // The missed broadcasts follow the CONNECT reply, once each and in order, each with its offset.
            var missed: [JSONValue] = []
            var offsets: [String] = []
            for _ in 0..<3 {
                let arguments = try await again.expectEvent("news")
                #expect(arguments.count == 2)
                missed.append(arguments[0])
                offsets.append(try self.offset(arguments))
            }
            #expect(missed == ["missed-1", "missed-2 to all", "missed-3 via two rooms"])
            #expect(Set(offsets).count == 3)
            #expect(!offsets.contains(offset))
            server.io.emit("after")
            #expect(try await again.nextPacket().data?[0] == "after", "nothing else was replayed")

            #expect(try await observed.nextConnection() == Connection(
                id: sid, recovered: true, rooms: [sid, "room-a", "room-c"].sorted(), user: "alice"))
            #expect(try await server.io.to("room-a").socketIDs() == [sid])
            #expect(try await server.io.sockets.roomSizes() == [sid: 1, "room-a": 1, "room-c": 1])

            // Once recovered, the session is no longer kept but live: a third connection presenting the
            // pid takes the live socket over (the client gave up on it), it does not get a copy.
            let third = try await server.open()
            #expect(try await third.connect(auth: ["pid": .string(pid), "offset": .string(offset)]) == ["sid": .string(sid), "pid": .string(pid)])
            try await again.waitForClose()
            #expect(try await server.io.sockets.socketIDs() == [sid])
        }
    }

    /// The client gave up on a connection this side still holds (a half-open TCP connection, an
    /// upgrade cut between probe and upgrade packet): its reconnect with `{pid, offset}` closes the
    /// old connection as a transport close and recovers the session instead of waiting for the ping
    /// timeout to notice.
    @Test func aReconnectWhileTheOldConnectionIsStillOpenTakesItOverAndRecovers() async throws {
        try await self.withRecoveryServer { server, observed in
            let stale = try await server.open()
            let (sid, pid) = try self.identity(try await stale.connect())
            _ = try await observed.nextConnection()
            #expect(try await stale.emitWithAck("join", "room-a") == [])
            server.io.to("room-a").emit("news", "seen")
            let offset = try self.offset(try await stale.expectEvent("news"))
            server.io.to("room-a").emit("news", "missed")
            #expect(try await stale.expectEvent("news").first == "missed", "sent to the old connection, lost by the client")

            let again = try await server.open()
            let reply = try await again.connect(auth: ["pid": .string(pid), "offset": .string(offset)])
            #expect(reply == ["sid": .string(sid), "pid": .string(pid)])
            let replayed = try await again.expectEvent("news")
            #expect(replayed.first == "missed")
            #expect(try await observed.nextDisconnect() == "transport close")
            try await stale.waitForClose()
            #expect(try await observed.nextConnection() == Connection(
                id: sid, recovered: true, rooms: [sid, "room-a"].sorted(), user: "alice"))
            server.io.to("room-a").emit("news", "after")
            #expect(try await again.expectEvent("news").first == "after")
            #expect(try await server.io.sockets.socketIDs() == [sid])
        }
    }

    /// A `pid` that belongs to nobody connected or kept changes nothing for the other clients.
    @Test func aStrangersPrivateIDClosesNoOtherConnection() async throws {
        try await self.withRecoveryServer { server, observed in
            let (bystander, bystanderSID) = try await server.connectedClient()
            _ = try await observed.nextConnection()
            server.io.emit("news", "x")
            let offset = try self.offset(try await bystander.expectEvent("news"))

            let stranger = try await server.open()
            let (strangerSID, _) = try self.identity(try await stranger.connect(auth: ["pid": "not-a-pid", "offset": .string(offset)]))
            #expect(strangerSID != bystanderSID)
            server.io.emit("news", "still here")
            #expect(try await bystander.expectEvent("news").first == "still here")
            #expect(Set(try await server.io.sockets.socketIDs()) == [bystanderSID, strangerSID])
        }
    }

    @Test func anUpToDateClientRecoversWithNothingToReplay() async throws {
        try await self.withRecoveryServer { server, observed in
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            server.io.emit("news", "last")
            let offset = try self.offset(try await client.expectEvent("news"))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            let again = try await server.open()
            #expect(try await again.connect(auth: ["pid": .string(pid), "offset": .string(offset)]) == ["sid": .string(sid), "pid": .string(pid)])
            server.io.emit("after")
            #expect(try await again.nextPacket().data?[0] == "after")
        }
    }

    @Test func aClientNamespaceDisconnectIsNotRecoverable() async throws {
        try await self.withRecoveryServer { server, observed in
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            server.io.emit("news", "x")
            let offset = try self.offset(try await client.expectEvent("news"))

            client.sendDisconnect()
            #expect(try await observed.nextDisconnect() == "client namespace disconnect")
            await client.close()

            let again = try await server.open()
            let (newSID, newPID) = try self.identity(try await again.connect(auth: ["pid": .string(pid), "offset": .string(offset)]))
            #expect(newSID != sid)
            #expect(newPID != pid)
            _ = try await observed.nextConnection()
            #expect(try await observed.nextConnection() == Connection(id: newSID, recovered: false, rooms: [newSID], user: "alice"))
        }
    }

    @Test func aServerNamespaceDisconnectIsNotRecoverable() async throws {
        try await self.withRecoveryServer { server, observed in
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            let socket = try await observed.sockets.next(timeout: testClientTimeout, "the socket")
            server.io.emit("news", "x")
            let offset = try self.offset(try await client.expectEvent("news"))

            socket.disconnect()
            try await client.expectDisconnect()
            #expect(try await observed.nextDisconnect() == "server namespace disconnect")

            let (newSID, newPID) = try self.identity(try await client.connect(auth: ["pid": .string(pid), "offset": .string(offset)]))
            #expect(newSID != sid)
            #expect(newPID != pid)
        }
    }

    @Test func anUnknownPrivateIDOrOffsetConnectsAsNew() async throws {
        try await self.withRecoveryServer { server, observed in
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            server.io.emit("news", "x")
            let offset = try self.offset(try await client.expectEvent("news"))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            let stranger = try await server.open()
            let (strangerSID, _) = try self.identity(try await stranger.connect(auth: ["pid": "no-such-pid", "offset": .string(offset)]))
            #expect(strangerSID != sid)
            // An offset that was never handed out cannot be trusted: no recovery either.
            let liar = try await server.open()
            let (liarSID, liarPID) = try self.identity(try await liar.connect(auth: ["pid": .string(pid), "offset": "999999"]))
            #expect(liarSID != sid)
            #expect(liarPID != pid)
        }
    }

    @Test func aSessionIsNotRecoveredAfterMaxDisconnectionDuration() async throws {
        try await self.withRecoveryServer({ $0.maxDisconnectionDuration = .milliseconds(200) }) { server, observed in
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            server.io.emit("news", "x")
            let offset = try self.offset(try await client.expectEvent("news"))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            // Waits past the limit (a lower bound, not a speed check).
            try await Task.sleep(for: .milliseconds(500))
            let again = try await server.open()
            let (newSID, newPID) = try self.identity(try await again.connect(auth: ["pid": .string(pid), "offset": .string(offset)]))
            #expect(newSID != sid)
            #expect(newPID != pid)
        }
    }

    // MARK: Middlewares on recovery

    @Test func recoverySkipsTheMiddlewaresByDefault() async throws {
        try await self.withRecoveryServer { server, observed in
            let runs = TestAsyncQueue<String>()
            server.io.use { socket in runs.push("\(socket.recovered)") }
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            #expect(try await runs.next(timeout: testClientTimeout, "the middleware") == "false")
            server.io.emit("news", "x")
            let offset = try self.offset(try await client.expectEvent("news"))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            let again = try await server.open()
            #expect(try await again.connect(auth: ["pid": .string(pid), "offset": .string(offset)]) == ["sid": .string(sid), "pid": .string(pid)])
            _ = try await observed.nextConnection()
            #expect(try await observed.nextConnection().recovered)
            #expect(runs.isEmpty, "the middleware did not run for the recovered connection")
        }
    }

    @Test func withSkipMiddlewaresOffTheMiddlewaresRunOnRecoveryAndMayRefuseIt() async throws {
        try await self.withRecoveryServer({ $0.skipMiddlewares = false }) { server, observed in
            let runs = TestAsyncQueue<String>()
            server.io.use { socket in
                let token = socket.handshake.auth["token"]?.stringValue ?? "-"
                runs.push("recovered=\(socket.recovered) id=\(socket.id) token=\(token)")
                guard token == "valid" else { throw ConnectError(message: "bad token", data: ["token": .string(token)]) }
            }
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect(auth: ["token": "valid"]))
            #expect(try await runs.next(timeout: testClientTimeout, "the middleware") == "recovered=false id=\(sid) token=valid")
            _ = try await observed.nextConnection()
            #expect(try await client.emitWithAck("join", "room-a") == [])
            server.io.emit("news", "x")
            let offset = try self.offset(try await client.expectEvent("news"))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            // Still valid: the middleware runs, sees the recovered socket, and lets it in.
            let again = try await server.open()
            let reply = try await again.connect(auth: ["token": "valid", "pid": .string(pid), "offset": .string(offset)])
            #expect(reply == ["sid": .string(sid), "pid": .string(pid)])
            #expect(try await runs.next(timeout: testClientTimeout, "the middleware") == "recovered=true id=\(sid) token=valid")
            #expect(try await observed.nextConnection() == Connection(id: sid, recovered: true, rooms: [sid, "room-a"].sorted(), user: "alice"))
            await again.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            // No longer valid: the recovered connection is refused.
            let refused = try await server.open()
            let error = try await refused.connectExpectingError(auth: ["token": "expired", "pid": .string(pid), "offset": .string(offset)])
            #expect(error == ["message": "bad token", "data": ["token": "expired"]])
            #expect(try await runs.next(timeout: testClientTimeout, "the middleware") == "recovered=true id=\(sid) token=expired")
            #expect(observed.connections.isEmpty, "onConnection did not run")
            #expect(try await server.io.sockets.socketIDs().isEmpty)
            #expect(try await server.io.sockets.roomSizes().isEmpty)

            // The refusal did not use the session up: with a valid token again, it is recovered.
            let retried = try await refused.connect(auth: ["token": "valid", "pid": .string(pid), "offset": .string(offset)])
            #expect(retried == ["sid": .string(sid), "pid": .string(pid)])
            #expect(try await runs.next(timeout: testClientTimeout, "the middleware") == "recovered=true id=\(sid) token=valid")
            #expect(try await observed.nextConnection().recovered)
        }
    }

    @Test func ofTwoConcurrentRecoveriesOfOneSessionOnlyOneSucceeds() async throws {
        try await self.withRecoveryServer({ $0.skipMiddlewares = false }) { server, observed in
            let started = TestAsyncQueue<String>()
            let gate = TestGate()
            defer { gate.open() }
            server.io.sockets.use { socket async throws in
                guard socket.recovered else { return }
                started.push(socket.id)
                await gate.wait()
            }
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            _ = try await observed.nextConnection()
            server.io.emit("news", "x")
            let offset = try self.offset(try await client.expectEvent("news"))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            // Both attempts restore the session and wait in the middleware; then both go on.
            let first = try await server.open()
            let second = try await server.open()
            first.sendConnect(auth: ["pid": .string(pid), "offset": .string(offset)])
            second.sendConnect(auth: ["pid": .string(pid), "offset": .string(offset)])
            #expect(try await started.next(2, "both middlewares") == [sid, sid])
            gate.open()

            let replies = [try await first.nextPacket(), try await second.nextPacket()]
            let winners = replies.filter { $0.type == .connect }
            let losers = replies.filter { $0.type == .connectError }
            #expect(winners == [SocketPacket(type: .connect, data: ["sid": .string(sid), "pid": .string(pid)])])
            #expect(losers == [SocketPacket(type: .connectError, data: ["message": "session already recovered"])])
            #expect(try await server.io.sockets.socketIDs() == [sid])
            #expect(try await observed.nextConnection() == Connection(id: sid, recovered: true, rooms: [sid], user: "alice"))
        }
    }

    /// A broadcast sent before the transport closed may never have reached the client (it was in
    /// flight, or the connection was already dead until the ping timeout noticed): the client's
    /// offset says so. If that broadcast has aged out of the log by the time the client comes back
    /// (within maxDisconnectionDuration of the disconnection, but more than that after the
    /// broadcast), the session must not be recovered without it: socket.io then refuses the
    /// recovery, so the client knows it must resynchronise.
    @Test func aBroadcastTheClientMissedBeforeTheDisconnectIsNeverSilentlyDropped() async throws {
        try await self.withRecoveryServer({ $0.maxDisconnectionDuration = .milliseconds(1000) }) { server, observed in
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            _ = try await observed.nextConnection()
            server.io.emit("news", "received")
            let offset = try self.offset(try await client.expectEvent("news"))
            // Sent while the connection is still up, but (as the offset the client reports tells)
            // lost on the way.
            server.io.emit("news", "lost in flight")
            _ = try await client.expectEvent("news")

            // The sleeps are lower bounds only: the broadcast is > 1000 ms old at the reconnect while
            // the disconnection is ~600 ms old. (On a stalled machine the session simply expires,
            // which this test accepts too.)
            try await Task.sleep(for: .milliseconds(600))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")
            try await Task.sleep(for: .milliseconds(600))

            let again = try await server.open()
            let reply = try await again.connect(auth: ["pid": .string(pid), "offset": .string(offset)])
            if reply["sid"]?.stringValue == sid {
                server.io.emit("marker")
                let next = try await again.nextPacket()
                #expect(next.data?[0] == "news", "recovered, so the missed broadcast must be replayed; got \(next)")
                #expect(next.data?[1] == "lost in flight")
            } else {
                #expect(try await observed.nextConnection().recovered == false)
            }
        }
    }

    /// Socket.IO delivers what the server sends to one client in the order it was sent. With
    /// recovery on, a logged broadcast is queued on every loop, so a handler's later direct emit
    /// and ack must not overtake it.
    @Test(arguments: [false, true])
    func aHandlersBroadcastAndItsLaterEmitAndAckArriveInCallOrder(recovery: Bool) async throws {
        try await withSocketIOServer({ $0.connectionStateRecovery = recovery ? ConnectionStateRecovery() : nil }) { server in
            server.io.onConnection { socket in
                socket.on("post") { arguments, ack in
                    server.io.sockets.broadcast.emit("posted", arguments: arguments)
                    socket.emit("thanks")
                    ack?("ok")
                }
            }
            let (client, _) = try await server.connectedClient()
            client.emit("post", arguments: ["hello"], ackID: 1)
            let packets = [try await client.nextPacket(), try await client.nextPacket(), try await client.nextPacket()]
            let order = packets.map { packet -> String in
                packet.type == .ack ? "ack" : (packet.data?[0]?.stringValue ?? "?")
            }
            #expect(order == ["posted", "thanks", "ack"])
        }
    }

    /// A room broadcast sent while an asynchronous middleware checks a recovering client is logged
    /// after the session was restored and before the socket is back in its rooms: it must still
    /// reach the client once it is connected, or the client silently misses it.
    @Test func aBroadcastDuringARecoveringAsyncMiddlewareIsNotLost() async throws {
        try await self.withRecoveryServer({ $0.skipMiddlewares = false }) { server, observed in
            let started = TestAsyncQueue<String>()
            let gate = TestGate()
            defer { gate.open() }
            server.io.sockets.use { socket async throws in
                guard socket.recovered else { return }
                started.push(socket.id)
                await gate.wait()
            }
            let client = try await server.open()
            let (sid, pid) = try self.identity(try await client.connect())
            _ = try await observed.nextConnection()
            #expect(try await client.emitWithAck("join", "room-a") == [])
            server.io.to("room-a").emit("news", "seen")
            let offset = try self.offset(try await client.expectEvent("news"))
            await client.close()
            #expect(try await observed.nextDisconnect() == "transport close")

            server.io.to("room-a").emit("news", "missed before reconnect")
            let again = try await server.open()
            again.sendConnect(auth: ["pid": .string(pid), "offset": .string(offset)])
            #expect(try await started.next(timeout: testClientTimeout, "the middleware") == sid)
            server.io.to("room-a").emit("news", "sent during the middleware")
            gate.open()

            #expect(try await again.nextPacket() == SocketPacket(type: .connect, data: ["sid": .string(sid), "pid": .string(pid)]))
            #expect(try await again.expectEvent("news").first == "missed before reconnect")
            server.io.emit("marker")
            let next = try await again.nextPacket()
            #expect(next.data?[0] == "news", "expected the broadcast sent during the middleware, got \(next)")
            #expect(next.data?[1] == "sent during the middleware")
        }
    }
}

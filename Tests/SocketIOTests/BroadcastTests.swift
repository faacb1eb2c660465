import EngineIO
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import TestSupport
import Testing

/// Rooms and broadcasts through ``BroadcastOperator`` and the ``InMemoryAdapter``, with six clients
/// spread over the two event loops of the server (the adapter keeps one shard per loop).
///
/// Every check of who received a broadcast is followed by a marker broadcast to everyone: a client
/// must receive exactly the expected events and then the marker, so a missing, extra or duplicated
/// delivery fails without waiting for anything to not happen.
@Suite("Socket.IO server: rooms and broadcasts")
struct BroadcastTests {
    /// The six connected clients and their server-side sockets, in connection order.
    struct Room {
        let server: SocketIOTestServer
        let clients: [SocketIOTestClient]
        let sids: [String]
        let sockets: [Socket]
        let disconnects: TestAsyncQueue<String>
        private let markers = NIOLockedValueBox(0)

        init(server: SocketIOTestServer, clients: [SocketIOTestClient], sids: [String], sockets: [Socket],
             disconnects: TestAsyncQueue<String>) {
            self.server = server
            self.clients = clients
            self.sids = sids
            self.sockets = sockets
            self.disconnects = disconnects
        }

        var io: SocketIOServer { self.server.io }

        /// Client `index` joins `rooms`, through an event the server acknowledges once joined.
        func join(_ index: Int, _ rooms: String...) async throws {
            #expect(try await self.clients[index].emitWithAck("join", arguments: rooms.map { .string($0) }) == [])
        }

        /// Checks that exactly the clients in `receivers` got `event` with `arguments` (once, in that
        /// order), using a marker broadcast to everyone.
        func expectDelivery(_ event: String, _ arguments: [JSONValue], to receivers: Set<Int>,
                            sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let marker = self.markers.withLockedValue { value in
                value += 1
                return value
            }
            self.io.emit("marker", .number(Double(marker)))
            for (index, client) in self.clients.enumerated() {
                if receivers.contains(index) {
                    let received = try await client.expectEvent(event)
                    #expect(received == arguments, "client \(index)", sourceLocation: sourceLocation)
                }
                let next = try await client.expectEvent("marker")
                #expect(next == [.number(Double(marker))], "client \(index)", sourceLocation: sourceLocation)
            }
        }

        func sids(_ indices: Int...) -> [String] {
            indices.map { self.sids[$0] }.sorted()
        }
    }

    /// Starts a two-loop server whose sockets join and leave rooms on request, connects six
    /// clients and checks they are spread over both loops.
    func withRoom(_ body: (Room) async throws -> Void) async throws {
        try await withSocketIOServer(threads: 2) { server in
            let tracked = ConnectedSockets()
            tracked.track(server.io.sockets)
            let disconnects = TestAsyncQueue<String>()
            server.io.onConnection { socket in
                socket.on("join") { arguments, ack in
                    for room in arguments { socket.join(room.stringValue!) }
                    ack?()
                }
                socket.on("leave") { arguments, ack in
                    for room in arguments { socket.leave(room.stringValue!) }
                    ack?()
                }
                socket.on("shout") { arguments, ack in
                    socket.broadcast.emit("shout", arguments: arguments)
                    ack?()
                }
                socket.on("shout-to") { arguments, ack in
                    socket.to(arguments[0].stringValue!).emit("shout", arguments: Array(arguments.dropFirst()))
                    ack?()
                }
                socket.onDisconnect { reason in disconnects.push("\(socket.id) \(reason)") }
            }
            var clients: [SocketIOTestClient] = []
            var sids: [String] = []
            var sockets: [Socket] = []
            for _ in 0..<6 {
                let (client, sid) = try await server.connectedClient()
                clients.append(client)
                sids.append(sid)
                sockets.append(try await tracked.next(sid: sid))
            }
            let loops = Set(sockets.map { ObjectIdentifier($0.eventLoop) })
            try #require(loops.count == 2, "the six sockets live on both event loops")
            try await body(Room(server: server, clients: clients, sids: sids, sockets: sockets, disconnects: disconnects))
        }
    }

    // MARK: Selecting sockets

    @Test func aRoomBroadcastReachesExactlyItsMembers() async throws {
        try await self.withRoom { room in
            try await room.join(0, "red")
            try await room.join(2, "red")
            try await room.join(5, "red")
            #expect(try await room.io.sockets.roomSizes()["red"] == 3)

            room.io.to("red").emit("paint", "red", 1)
            try await room.expectDelivery("paint", ["red", 1], to: [0, 2, 5])

            room.io.sockets.in("red").emit("paint", "again")
            try await room.expectDelivery("paint", ["again"], to: [0, 2, 5])

            // A socket's own room reaches just that socket.
            room.io.to(room.sids[3]).emit("direct")
            try await room.expectDelivery("direct", [], to: [3])

            room.io.to("nobody").emit("lost")
            try await room.expectDelivery("lost", [], to: [])
        }
    }

    @Test func exceptSkipsTheMembersOfARoom() async throws {
        try await self.withRoom { room in
            try await room.join(0, "red")
            try await room.join(1, "red", "blue")
            try await room.join(4, "blue")

            room.io.except("red").emit("e1")
            try await room.expectDelivery("e1", [], to: [2, 3, 4, 5])

            room.io.to("red").except("blue").emit("e2")
            try await room.expectDelivery("e2", [], to: [0])

            room.io.to("blue").except(room.sids[4]).emit("e3")
            try await room.expectDelivery("e3", [], to: [1])

            room.io.sockets.broadcast.except(["red", "blue"]).emit("e4")
            try await room.expectDelivery("e4", [], to: [2, 3, 5])
        }
    }

    @Test func severalRoomsDeliverOncePerSocket() async throws {
        try await self.withRoom { room in
            try await room.join(0, "a")
            try await room.join(1, "a", "b")
            try await room.join(2, "b", "c")
            try await room.join(3, "a", "b", "c")

            room.io.to("a").to("b").emit("union")
            try await room.expectDelivery("union", [], to: [0, 1, 2, 3])

            room.io.sockets.broadcast.to(["a", "b", "c"]).emit("all-three", "x")
            try await room.expectDelivery("all-three", ["x"], to: [0, 1, 2, 3])

            room.io.to("b").to("c").except("a").emit("b-or-c-not-a")
            try await room.expectDelivery("b-or-c-not-a", [], to: [2])
        }
    }

    @Test func aSocketsBroadcastSkipsTheSender() async throws {
        try await self.withRoom { room in
            try await room.join(0, "red")
            try await room.join(2, "red")
            try await room.join(3, "red")

            // The ack comes after the broadcast was handed to the adapter.
            #expect(try await room.clients[0].emitWithAck("shout", "hello") == [])
            try await room.expectDelivery("shout", ["hello"], to: [1, 2, 3, 4, 5])

            #expect(try await room.clients[3].emitWithAck("shout-to", "red", "in red") == [])
            try await room.expectDelivery("shout", ["in red"], to: [0, 2])
        }
    }

    @Test func aNamespaceEmitReachesEverySocketOfTheNamespaceOnly() async throws {
        try await self.withRoom { room in
            room.io.of("/other").onConnection { _ in }
            let outsider = try await room.server.open()
            _ = try await outsider.connectSID("/other")

            room.io.emit("everyone", ["n": 1])
            try await room.expectDelivery("everyone", [["n": 1]], to: [0, 1, 2, 3, 4, 5])
            room.io.sockets.emit("again")
            try await room.expectDelivery("again", [], to: [0, 1, 2, 3, 4, 5])

            room.io.of("/other").emit("other-only")
            #expect(try await outsider.expectEvent("other-only", namespace: "/other") == [])
        }
    }

    @Test func emitCountingReportsTheNumberOfTargets() async throws {
        try await self.withRoom { room in
            try await room.join(1, "red")
            try await room.join(3, "red", "blue")
            try await room.join(4, "red")

            #expect(try await room.io.to("red").emitCounting("count", arguments: ["r"]).get() == 3)
            try await room.expectDelivery("count", ["r"], to: [1, 3, 4])
            #expect(try await room.io.sockets.broadcast.emitCounting("count", arguments: []).get() == 6)
            try await room.expectDelivery("count", [], to: [0, 1, 2, 3, 4, 5])
            #expect(try await room.io.to("red").to("blue").except(room.sids[4]).emitCounting("count", arguments: []).get() == 2)
            try await room.expectDelivery("count", [], to: [1, 3])
            #expect(try await room.io.to("nobody").emitCounting("count", arguments: []).get() == 0)
            try await room.expectDelivery("count", [], to: [])
        }
    }

    @Test func socketIDsListsTheSelectedSockets() async throws {
        try await self.withRoom { room in
            try await room.join(0, "red")
            try await room.join(3, "red")
            try await room.join(4, "blue")

            #expect(try await room.io.sockets.socketIDs().sorted() == room.sids.sorted())
            #expect(try await room.io.to("red").socketIDs().sorted() == room.sids(0, 3))
            #expect(try await room.io.to("red").to("blue").socketIDs().sorted() == room.sids(0, 3, 4))
            #expect(try await room.io.except("red").socketIDs().sorted() == room.sids(1, 2, 4, 5))
            #expect(try await room.io.to("nobody").socketIDs().isEmpty)
        }
    }

    // MARK: Changing rooms from the server

    @Test func socketsJoinAddsTheSelectedSocketsToARoom() async throws {
        try await self.withRoom { room in
            try await room.join(0, "red")
            try await room.join(1, "red")

            try await room.io.except("red").socketsJoin("blue")
            #expect(try await room.io.to("blue").socketIDs().sorted() == room.sids(2, 3, 4, 5))
            #expect(try await room.sockets[4].currentRooms() == [room.sids[4], "blue"])
            room.io.to("blue").emit("joined")
            try await room.expectDelivery("joined", [], to: [2, 3, 4, 5])
        }
    }

    @Test func socketsLeaveRemovesTheSelectedSocketsFromARoom() async throws {
        try await self.withRoom { room in
            try await room.join(0, "red", "blue")
            try await room.join(1, "red")
            try await room.join(2, "red", "blue")

            try await room.io.to("blue").socketsLeave("red")
            #expect(try await room.io.to("red").socketIDs() == [room.sids[1]])
            #expect(try await room.sockets[0].currentRooms() == [room.sids[0], "blue"])
            room.io.to("red").emit("red")
            try await room.expectDelivery("red", [], to: [1])

            try await room.io.sockets.broadcast.socketsLeave("blue")
            #expect(try await room.io.sockets.roomSizes()["blue"] == nil)
            // A socket cannot leave its own room.
            try await room.io.sockets.broadcast.socketsLeave(room.sids[5])
            room.io.to(room.sids[5]).emit("still-mine")
            try await room.expectDelivery("still-mine", [], to: [5])
        }
    }

    @Test func disconnectSocketsDisconnectsTheSelectedSockets() async throws {
        try await self.withRoom { room in
            try await room.join(1, "red")
            try await room.join(4, "red")

            try await room.io.to("red").disconnectSockets()
            try await room.clients[1].expectDisconnect()
            try await room.clients[4].expectDisconnect()
            #expect(Set(try await room.disconnects.next(2, "the disconnects")) == [
                "\(room.sids[1]) server namespace disconnect", "\(room.sids[4]) server namespace disconnect",
            ])
            #expect(try await room.io.sockets.socketIDs().sorted() == room.sids(0, 2, 3, 5))
            #expect(try await room.io.sockets.roomSizes()["red"] == nil)
            // Their connections stay open: they can connect again.
            let again = try await room.clients[1].connectSID()
            #expect(again != room.sids[1])
            #expect(room.clients[4].isOpen)

            try await room.io.to(room.sids[2]).disconnectSockets(close: true)
            #expect(try await room.clients[2].packetsUntilClose() == [SocketPacket(type: .disconnect, namespace: "/")])
            #expect(try await room.disconnects.next(timeout: testClientTimeout, "the disconnect") == "\(room.sids[2]) server namespace disconnect")
        }
    }

    @Test func aVolatileBroadcastReachesWritableClients() async throws {
        try await self.withRoom { room in
            try await room.join(2, "red")
            try await room.join(3, "red")
            room.io.sockets.volatile.emit("v", 1)
            try await room.expectDelivery("v", [1], to: [0, 1, 2, 3, 4, 5])
            room.io.to("red").volatile.emit("v", 2)
            try await room.expectDelivery("v", [2], to: [2, 3])
            #expect(try await room.io.sockets.volatile.to("red").emitCounting("v", arguments: [3]).get() == 2)
            try await room.expectDelivery("v", [3], to: [2, 3])
        }
    }

    @Test func leavingARoomStopsItsDeliveries() async throws {
        try await self.withRoom { room in
            try await room.join(0, "red")
            try await room.join(1, "red")
            room.io.to("red").emit("before")
            try await room.expectDelivery("before", [], to: [0, 1])

            #expect(try await room.clients[0].emitWithAck("leave", "red") == [])
            #expect(try await room.sockets[0].currentRooms() == [room.sids[0]])
            room.io.to("red").emit("after")
            try await room.expectDelivery("after", [], to: [1])
        }
    }

    @Test func theRoomsOfADisconnectedSocketAreGone() async throws {
        try await self.withRoom { room in
            try await room.join(0, "solo-0", "shared")
            try await room.join(1, "solo-1", "shared")
            try await room.join(2, "shared")
            let before = try await room.io.sockets.roomSizes()
            #expect(before["shared"] == 3)
            #expect(before["solo-0"] == 1)
            #expect(before["solo-1"] == 1)
            #expect(before[room.sids[0]] == 1)

            room.clients[0].sendDisconnect()
            #expect(try await room.disconnects.next(timeout: testClientTimeout, "the disconnect") == "\(room.sids[0]) client namespace disconnect")
            await room.clients[1].close()
            #expect(try await room.disconnects.next(timeout: testClientTimeout, "the disconnect") == "\(room.sids[1]) transport close")

            var expected: [String: Int] = ["shared": 1]
            for sid in room.sids[2...] { expected[sid] = 1 }
            #expect(try await room.io.sockets.roomSizes() == expected)
            #expect(try await room.io.to("shared").socketIDs() == [room.sids[2]])
        }
    }
}

import EngineIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RedisClient
import SocketIO
import SocketIORedis
import TestSupport
import Testing

/// Two ``SocketIOServer``s, each on its own port and event loops, sharing one real redis-server
/// through ``RedisAdapter``.
@Suite("RedisAdapter: two nodes on one Redis")
struct RedisAdapterTests {
    /// One Socket.IO server of the cluster.
    struct Node: Sendable {
        let io: SocketIOServer
        let node: RedisAdapterNode
        let http: HTTPServer
        let address: SocketAddress
        let group: MultiThreadedEventLoopGroup
        let disconnects: TestAsyncQueue<String>

        var adapter: RedisAdapter { self.io.sockets.adapter as! RedisAdapter }

        /// A WebSocket client connected to `/` on this node.
        func client(auth: JSONValue? = nil) async throws -> (client: SocketIOTestClient, reply: JSONValue) {
            let client = try await SocketIOTestClient.open(to: self.address, uri: "/socket.io/?EIO=4&transport=websocket")
            let reply = try await client.connect(auth: auth)
            return (client, reply)
        }

        /// Connects a client and has it join `rooms` (acknowledged, so the join is done).
        func member(of rooms: [String]) async throws -> SocketIOTestClient {
            let (client, _) = try await self.client()
            if !rooms.isEmpty {
                _ = try await client.emitWithAck("join", arguments: rooms.map(JSONValue.string))
            }
            return client
        }
    }

    static func makeNode(redis: RedisServerProcess, recovery: Bool) async throws -> Node {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let logger = Logger(label: "redis-adapter-tests", factory: { _ in SwiftLogNoOpLogHandler() })
        var redisConfiguration = RedisConnection.Configuration(url: try RedisURL(redis.url))
        redisConfiguration.reconnect = RedisBackoff(initialDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        var nodeConfiguration = RedisAdapterNode.Configuration(redis: redisConfiguration)
        nodeConfiguration.requestTimeout = .milliseconds(500)
        nodeConfiguration.readBlock = .milliseconds(500)
        let node = RedisAdapterNode(configuration: nodeConfiguration, group: group, logger: logger)
        var engine = EngineConfiguration()
        engine.pingInterval = .seconds(60)
        engine.pingTimeout = .seconds(60)
        var configuration = SocketIOConfiguration(engine: engine)
        if recovery { configuration.connectionStateRecovery = ConnectionStateRecovery() }
        let io = SocketIOServer(configuration: configuration, group: group, logger: logger,
                                adapterFactory: node.adapterFactory(recovery: configuration.connectionStateRecovery))
        let disconnects = TestAsyncQueue<String>()
        io.onConnection { socket in
            socket.on("join") { arguments, ack in
                for room in arguments { socket.join(room.stringValue!) }
                ack?()
            }
            socket.onDisconnect { reason in disconnects.push(reason) }
        }
        try await node.start().get()
        let http = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: [io.engine], group: group, logger: logger)
        let address = try await http.start()
        return Node(io: io, node: node, http: http, address: address, group: group, disconnects: disconnects)
    }

    /// Runs `body` with a fresh redis-server and two nodes on it, then tears everything down.
    func withCluster(recovery: Bool = false, _ body: (RedisServerProcess, Node, Node) async throws -> Void) async throws {
        let redis = try await RedisServerProcess.start()
        var nodes: [Node] = []
        var failure: (any Error)?
        do {
            nodes.append(try await Self.makeNode(redis: redis, recovery: recovery))
            nodes.append(try await Self.makeNode(redis: redis, recovery: recovery))
            try await body(redis, nodes[0], nodes[1])
        } catch {
            failure = error
        }
        for node in nodes {
            node.io.engine.closeAllSessions()
            await node.http.stopAccepting()
            await node.node.shutdown()
            try? await node.group.shutdownGracefully()
        }
        await redis.stop()
        if let failure { throw failure }
    }

    @Test func broadcastOnNodeBReachesClientOnNodeA() async throws {
        try await self.withCluster { _, a, b in
            let onA = try await a.member(of: [])
            let onB = try await b.member(of: [])
            b.io.emit("hello", "from B", 42)
            #expect(try await onA.expectEvent("hello") == ["from B", 42])
            #expect(try await onB.expectEvent("hello") == ["from B", 42])
            await onA.close()
            await onB.close()
        }
    }

    @Test func roomSpanningNodesReceivesExactlyOnceAndExceptHolds() async throws {
        try await self.withCluster { _, a, b in
            let a1 = try await a.member(of: ["r"])
            let b1 = try await b.member(of: ["r"])
            let b2 = try await b.member(of: ["r", "vip"])
            let outsider = try await a.member(of: [])
            a.io.to("r").emit("news", 1)
            a.io.to("r").except("vip").emit("news", 2)
            a.io.to("r").to("vip").emit("news", 3)  // union: each member once (one origin: stream order = call order)
            a.io.emit("marker")
            for client in [a1, b1] {
                #expect(try await client.expectEvent("news") == [1])
                #expect(try await client.expectEvent("news") == [2])
                #expect(try await client.expectEvent("news") == [3])
                #expect(try await client.expectEvent("marker") == [])
            }
            #expect(try await b2.expectEvent("news") == [1])
            #expect(try await b2.expectEvent("news") == [3], "vip member skipped by except, once for the union")
            #expect(try await b2.expectEvent("marker") == [])
            #expect(try await outsider.expectEvent("marker") == [], "not in the room: only the marker")
            for client in [a1, b1, b2, outsider] { await client.close() }
        }
    }

    @Test func emitCountingCountsThisNodesSocketsAfterDelivery() async throws {
        try await self.withCluster { _, a, b in
            let a1 = try await a.member(of: ["r"])
            let a2 = try await a.member(of: ["r"])
            let b1 = try await b.member(of: ["r"])
            let count = try await a.io.to("r").emitCounting("counted", arguments: [1]).get()
            #expect(count == 2, "A's two members; B's member is counted by B")
            for client in [a1, a2, b1] {
                #expect(try await client.expectEvent("counted") == [1])
            }
            for client in [a1, a2, b1] { await client.close() }
        }
    }

    @Test func localFlagStaysOnTheNode() async throws {
        try await self.withCluster { _, a, b in
            let onA = try await a.member(of: [])
            let onB = try await b.member(of: [])
            a.io.sockets.broadcast.local.emit("local-only")
            a.io.emit("everyone")
            #expect(try await onA.expectEvent("local-only") == [])
            #expect(try await onA.expectEvent("everyone") == [])
            #expect(try await onB.expectEvent("everyone") == [], "B never saw the local broadcast")
            await onA.close()
            await onB.close()
        }
    }

    @Test func socketsJoinLeaveAndSocketIDsAcrossNodes() async throws {
        try await self.withCluster { _, a, b in
            let (onA, replyA) = try await a.client()
            let (onB, replyB) = try await b.client()
            let ids = Set([replyA["sid"]!.stringValue!, replyB["sid"]!.stringValue!])
            #expect(Set(try await a.io.sockets.socketIDs()) == ids, "a cluster request sees both nodes")
            #expect(Set(try await b.io.sockets.broadcast.local.socketIDs()) == [replyB["sid"]!.stringValue!])
            try await a.io.sockets.broadcast.socketsJoin("joined")
            b.io.to("joined").emit("in", 1)
            #expect(try await onA.expectEvent("in") == [1])
            #expect(try await onB.expectEvent("in") == [1])
            try await b.io.sockets.broadcast.except(replyA["sid"]!.stringValue!).socketsLeave("joined")
            #expect(try await a.io.to("joined").socketIDs() == [replyA["sid"]!.stringValue!])
            try await b.io.to("joined").disconnectSockets()
            try await onA.expectDisconnect()
            #expect(try await a.disconnects.next("A's socket") == "server namespace disconnect")
            await onA.close()
            await onB.close()
        }
    }

    @Test func clusterRequestTimesOutWhenANodeDoesNotAnswer() async throws {
        try await self.withCluster { redis, a, _ in
            // A third "node" that listens to requests and never answers.
            let silent = RedisSubscriber(configuration: .init(url: try RedisURL(redis.url)), eventLoop: a.group.next())
            silent.start()
            try await silent.subscribe(["socket.io#request"]) { _ in }.get()
            await #expect(throws: RedisAdapterError.timeout(received: 1, expected: 2)) {
                _ = try await a.io.sockets.socketIDs()
            }
            #expect(a.node.metrics.snapshot.requestTimeouts == 1)
            try await silent.close().get()
        }
    }

    @Test func serverSideEmitReachesTheOtherNodesOnly() async throws {
        try await self.withCluster { _, a, b in
            let heard = TestAsyncQueue<String>()
            a.adapter.onServerSideEmit { event, arguments in heard.push("A:\(event):\(arguments)") }
            b.adapter.onServerSideEmit { event, arguments in heard.push("B:\(event):\(arguments)") }
            try await a.adapter.serverSideEmit("hello", [1, "x"]).get()
            try await b.adapter.serverSideEmit("back", []).get()
            let first = try await heard.next(2, "server-side emits")
            #expect(Set(first) == [#"B:hello:[1, "x"]"#, "A:back:[]"])
        }
    }

    @Test func clientMovingToTheOtherNodeRecoversMissedBroadcasts() async throws {
        try await self.withCluster(recovery: true) { _, a, b in
            let observer = try await b.member(of: ["observers"])
            let (client, reply) = try await a.client()
            let sid = try #require(reply["sid"]?.stringValue)
            let pid = try #require(reply["pid"]?.stringValue)
            _ = try await client.emitWithAck("join", arguments: ["news"])
            b.io.to("news").emit("n", 1)
            let first = try await client.expectEvent("n")
            let offset = try #require(first.last?.stringValue)
            #expect(first.first == 1)
            // The client's connection drops (its node keeps the session and tells the cluster).
            await client.close()
            #expect(try await a.disconnects.next("the drop") == "transport close")
            b.io.to("news").emit("n", 2)
            b.io.to("news").emit("n", 3)  // same origin as 2: stream order = call order
            // Stream order: the session entry precedes this barrier, so B knows the session once the
            // observer sees it.
            a.io.to("observers").emit("barrier")
            _ = try await observer.expectEvent("barrier")

            let (moved, again) = try await b.client(auth: ["pid": .string(pid), "offset": .string(offset)])
            #expect(again == ["sid": .string(sid), "pid": .string(pid)], "same socket id on the other node")
            let missed2 = try await moved.expectEvent("n")
            let missed3 = try await moved.expectEvent("n")
            #expect(missed2.first == 2)
            #expect(missed3.first == 3)
            // Its rooms came along: a new broadcast to "news" reaches it live, once.
            a.io.to("news").emit("n", 4)
            let live = try await moved.expectEvent("n")
            #expect(live.first == 4)
            await moved.close()
            await observer.close()
        }
    }

    @Test func clientOfACrashedNodeRecoversOnTheOtherNodeWithEveryMissedBroadcastOnce() async throws {
        try await self.withCluster(recovery: true) { _, a, b in
            let observer = try await b.member(of: ["observers"])
            let (client, reply) = try await a.client()
            let sid = try #require(reply["sid"]?.stringValue)
            let pid = try #require(reply["pid"]?.stringValue)
            _ = try await client.emitWithAck("join", arguments: ["news"])
            b.io.to("news").emit("n", 1)
            let first = try await client.expectEvent("n")
            let offset = try #require(first.last?.stringValue)
            // A's session records (connect, join "news") precede this barrier in the stream.
            a.io.to("observers").emit("barrier")
            _ = try await observer.expectEvent("barrier")
            // A "crashes": its Redis connections are gone at once and its socket never disconnects
            // (no disconnect path runs; the client's TCP connection stays open, half-dead), so
            // nothing but the records written while the socket was connected reach the cluster.
            await a.node.shutdown()
            b.io.to("news").emit("n", 2)
            b.io.to("news").emit("n", 3)  // between the crash and the reconnect
            b.io.to("other").emit("n", 99)  // not for its rooms

            let (moved, again) = try await b.client(auth: ["pid": .string(pid), "offset": .string(offset)])
            #expect(again == ["sid": .string(sid), "pid": .string(pid)], "the session of the crashed node")
            #expect(try await moved.expectEvent("n").first == 2)
            #expect(try await moved.expectEvent("n").first == 3)
            b.io.to("news").emit("n", 4)  // rooms came along: live, once
            b.io.emit("end")
            #expect(try await moved.expectEvent("n").first == 4)
            let end = try await moved.expectEvent("end")
            #expect(end.count == 1, "only its offset; and nothing twice before it: the replay and the live path do not overlap")
            #expect(try await b.io.sockets.broadcast.local.socketIDs().filter { $0 == sid }.count == 1)
            await moved.close()
            await client.close()
            await observer.close()
        }
    }

    @Test func reconnectWithThePidOfASocketLiveOnAnotherNodeTakesItOver() async throws {
        try await self.withCluster(recovery: true) { _, a, b in
            let (observer, observerReply) = try await b.client()
            _ = try await observer.emitWithAck("join", arguments: ["observers"])
            let (old, reply) = try await a.client()
            let sid = try #require(reply["sid"]?.stringValue)
            let pid = try #require(reply["pid"]?.stringValue)
            _ = try await old.emitWithAck("join", arguments: ["news"])
            b.io.to("news").emit("n", 1)
            let offset = try #require(try await old.expectEvent("n").last?.stringValue)
            a.io.to("observers").emit("barrier")
            _ = try await observer.expectEvent("barrier")

            // The client gave up on its connection to A (half-open, say) and reconnects to B.
            let (moved, again) = try await b.client(auth: ["pid": .string(pid), "offset": .string(offset)])
            #expect(again == ["sid": .string(sid), "pid": .string(pid)])
            // A closes the old connection: one live socket per id.
            #expect(try await old.packetsUntilClose().isEmpty)
            #expect(try await a.disconnects.next("the old socket") == "transport close")
            a.io.to("news").emit("n", 2)
            a.io.emit("end")
            #expect(try await moved.expectEvent("n").first == 2)
            #expect(try await moved.expectEvent("end").count == 1, "only its offset; nothing twice before it")
            let ids = try await a.io.sockets.socketIDs()
            #expect(ids.sorted() == [sid, observerReply["sid"]!.stringValue!].sorted(), "cluster-wide: the moved socket once")
            await moved.close()
            await observer.close()
        }
    }

    @Test func redisRestartMidTestDegradesToLocalAndRecovers() async throws {
        try await self.withCluster { redis, a, b in
            let onA = try await a.member(of: [])
            let onB = try await b.member(of: [])
            let events = TestAsyncQueue<String>()
            let eventsB = TestAsyncQueue<String>()
            a.node.onConnectionChange { event in
                if case .connected = event { events.push("connected") } else { events.push("disconnected") }
            }
            b.node.onConnectionChange { event in
                if case .connected = event { eventsB.push("connected") } else { eventsB.push("disconnected") }
            }
            await redis.kill()
            while try await events.next("outage") != "disconnected" {}
            while try await eventsB.next("outage on B") != "disconnected" {}
            a.io.emit("during", 1)
            #expect(try await onA.expectEvent("during") == [1], "local clients are still served")
            #expect(a.node.metrics.snapshot.outages == 1)
            #expect(a.node.metrics.snapshot.localOnlyDeliveries >= 1)
            try await redis.restart()
            while try await events.next("recovery") != "connected" {}
            while try await eventsB.next("recovery on B") != "connected" {}
            b.io.emit("after", 2)
            let received = try await onA.expectEvent("after")
            #expect(received == [2])
            #expect(try await onB.expectEvent("after") == [2])
            #expect(a.node.metrics.snapshot.connected)
            await onA.close()
            await onB.close()
        }
    }
}

import EngineIO
import Foundation
@testable import Hub
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SocketIO
import TestSupport
import Testing

/// The /sse gateway end to end: a real ``HTTPServer`` on 127.0.0.1 serving `hub.endpoints`, and
/// TestSupport's event-stream client over loopback. Waits are bounded only to turn a hang into a
/// failure; nothing asserts on timing.
@Suite struct SSEEndpointTests {
    // MARK: - Refusals

    @Test func refusalsAreJSONLikeTheAPIs() async throws {
        let fixture = try await SSEFixture.start()
        defer { fixture.stop() }
        let user = fixture.token("u", roles: [.user])

        let post = try await fixture.refusal("/sse/ops?token=\(user)", method: .POST)
        #expect(post.status == .methodNotAllowed)
        #expect(post.headers["Allow"] == ["GET"])

        let missing = try await fixture.refusal("/sse/ops")
        #expect(missing.status == .unauthorized)
        #expect(missing.headers["WWW-Authenticate"] == [#"Bearer realm="hub""#])
        #expect(missing.headers["Content-Type"] == ["application/json"])
        #expect(missing.headers["Cache-Control"] == ["no-store"])
        #expect(try JSONValue.parse(missing.text) == ["error": "unauthorized", "message": "missing token"])

        let forged = try await fixture.refusal("/sse/ops", headers: ["Authorization": "Bearer not.a.token"])
        #expect(forged.status == .unauthorized)
        #expect(forged.headers["WWW-Authenticate"] == [#"Bearer realm="hub", error="invalid_token""#])
        #expect(!forged.text.contains("not.a.token"), "the token is never echoed")

        let badRequests: [(String, String)] = [
            ("/sse?token=\(user)", "room is required: /sse/ROOM or /sse?room=ROOM"),
            ("/sse/a/b?token=\(user)", "invalid room in path"),
            ("/sse/%zz?token=\(user)", "invalid room in path"),
            ("/sse/ops?room=ops&token=\(user)", "the room is given in the path; leave out the room parameter"),
            ("/sse/ops?namespace=/nope&token=\(user)", "namespace must be one of /, /chat, /monitoring, /admin"),
            ("/sse/ops?types=a,,b&token=\(user)", "types must be event type names, comma-separated or repeated, none empty"),
            ("/sse/ops?lastEventId=-1&token=\(user)", "lastEventId must be a non-negative integer offset"),
            ("/sse/\(String(repeating: "r", count: 129))?token=\(user)", BroadcastRequest.roomNameRule),
        ]
        for (uri, message) in badRequests {
            let response = try await fixture.refusal(uri)
            #expect(response.status == .badRequest, "\(uri)")
            #expect(try JSONValue.parse(response.text) == ["error": "bad request", "message": .string(message)], "\(uri)")
        }
        let badHeader = try await fixture.refusal("/sse/ops?token=\(user)", headers: ["Last-Event-ID": "1e3"])
        #expect(try JSONValue.parse(badHeader.text) == ["error": "bad request", "message": "Last-Event-ID must be a non-negative integer offset"])

        let forbidden: [(String, String)] = [
            ("/sse/ops?namespace=/monitoring&token=\(user)", "role required for /monitoring"),
            ("/sse/admin?token=\(user)", "role required for room admin"),
            ("/sse/ops?token=\(fixture.token("u", roles: [.user], rooms: ["lobby"]))", "room not granted"),
        ]
        for (uri, message) in forbidden {
            let response = try await fixture.refusal(uri)
            #expect(response.status == .forbidden, "\(uri)")
            #expect(try JSONValue.parse(response.text) == ["error": "forbidden", "message": .string(message)], "\(uri)")
        }
    }

    @Test func pathTargets() {
        #expect(SSEEndpoint.target(of: "/sse") == .bare)
        #expect(SSEEndpoint.target(of: "/sse/") == .bare)
        #expect(SSEEndpoint.target(of: "/sse/ops") == .room("ops"))
        #expect(SSEEndpoint.target(of: "/sse/team%2Fops") == .room("team/ops"))
        #expect(SSEEndpoint.target(of: "/sse/a/b") == nil)
        #expect(SSEEndpoint.target(of: "/sse/%zz") == nil)
        #expect(SSEEndpoint.target(of: "/sses") == nil)
        let endpoint = SSEEndpoint(hub: try! Hub(configuration: SSEFixture.configuration(), group: MultiThreadedEventLoopGroup.singleton,
                                                 logger: Logger(label: "t")))
        #expect(endpoint.matches(path: "/sse") && endpoint.matches(path: "/sse/x"))
        #expect(!endpoint.matches(path: "/sses") && !endpoint.matches(path: "/stream") && !endpoint.matches(path: "/api/sse"))
    }

    // MARK: - Streaming

    @Test func streamsEventsWithIdTypeAndTheEventJSON() async throws {
        let fixture = try await SSEFixture.start()
        defer { fixture.stop() }
        let stream = try await fixture.connect("/sse/ops?namespace=/monitoring",
                                               headers: ["Authorization": "Bearer \(fixture.token("dash", roles: [.monitor]))"])
        #expect(stream.head.status == .ok)
        #expect(stream.head.headers["Content-Type"] == ["text/event-stream"])
        #expect(stream.head.headers["Cache-Control"] == ["no-store"])
        #expect(try await stream.next() == TestSSEMessage(retry: "2000"))

        let result = try await fixture.hub.broadcaster.publish(
            type: "alert_created", data: ["level": "warning", "message": "disk 91% full"], namespace: "/monitoring",
            rooms: ["ops"], source: "test")
        #expect(result.delivered == 1)
        let event = try #require(result.events.first)
        #expect(try await stream.nextEvent() == TestSSEMessage(id: "1", event: "alert_created", data: event.json.jsonString))
        // Ephemeral: no id.
        let typing = try await fixture.hub.broadcaster.publish(type: "typing_indicator", data: ["user": "x"], namespace: "/monitoring",
                                                              rooms: ["ops"], source: "test")
        #expect(try await stream.nextEvent() == TestSSEMessage(event: "typing_indicator", data: typing.events[0].json.jsonString))
        await stream.close()
    }

    @Test func theQueryTokenAndAPercentDecodedRoom() async throws {
        let fixture = try await SSEFixture.start()
        defer { fixture.stop() }
        let stream = try await fixture.connect("/sse/team%20a?token=\(fixture.token("u", roles: [.user]))")
        _ = try await stream.next()  // retry
        try await fixture.publish("chat_message", room: "team a", namespace: "/")
        #expect(try await stream.nextEvent().event == "chat_message")
        await stream.close()
    }

    @Test func typesFilterRepeatedAndCommaSeparated() async throws {
        let fixture = try await SSEFixture.start()
        defer { fixture.stop() }
        let token = fixture.token("svc", roles: [.service])
        let stream = try await fixture.connect(
            "/sse?room=jobs&namespace=/monitoring&types=task_failed,task_completed&types=alert_created&types=task_failed&token=\(token)")
        for type in ["task_started", "task_failed", "task_updated", "task_completed", "alert_created"] {
            try await fixture.publish(type, room: "jobs")
        }
        #expect(try await stream.nextEvent().event == "task_failed")
        #expect(try await stream.nextEvent().event == "task_completed")
        #expect(try await stream.nextEvent().event == "alert_created")
        // Named twice, delivered once; other types never: the next event is the next wanted one.
        try await fixture.publish("task_updated", room: "jobs")
        try await fixture.publish("task_failed", room: "jobs")
        let next = try await stream.nextEvent()
        #expect(next.event == "task_failed")
        #expect(next.id == "7")
        await stream.close()
    }

    @Test func lastEventIDReplaysThenLiveWithoutDuplicates() async throws {
        let fixture = try await SSEFixture.start()
        defer { fixture.stop() }
        for _ in 1...3 {
            try await fixture.publish("chat_message", room: "lobby", namespace: "/chat")
        }
        let token = fixture.token("u", roles: [.user])
        // The header wins over the query (an EventSource reconnects to its first URL with the newest id).
        let stream = try await fixture.connect("/sse/lobby?namespace=/chat&lastEventId=0&token=\(token)", headers: ["Last-Event-ID": "1"])
        #expect(try await stream.nextEvent().id == "2")
        #expect(try await stream.nextEvent().id == "3")
        try await fixture.publish("chat_message", room: "lobby", namespace: "/chat")
        #expect(try await stream.nextEvent().id == "4")
        await stream.close()

        let byQuery = try await fixture.connect("/sse/lobby?namespace=/chat&lastEventId=3&token=\(token)")
        #expect(try await byQuery.nextEvent().id == "4")
        await byQuery.close()
    }

    @Test func replayAndEventsPublishedMeanwhileHaveNoGapsOrDuplicates() async throws {
        let fixture = try await SSEFixture.start()
        defer { fixture.stop() }
        let hub = fixture.hub
        let total = 300
        let publisher = Task {
            for n in 1...total {
                try await hub.broadcaster.publish(type: "chat_message", data: ["n": .number(Double(n))], namespace: "/",
                                                  rooms: ["race"], source: "test")
            }
        }
        let stream = try await fixture.connect("/sse/race?lastEventId=0&token=\(fixture.token("u", roles: [.user]))")
        var ids: [Int] = []
        while ids.last != total {
            let id = try await stream.nextEvent().id
            ids.append(try #require(id.flatMap { Int($0) }))
        }
        try await publisher.value
        #expect(ids == Array(1...total))
        await stream.close()
    }

    @Test func heartbeatComments() async throws {
        let fixture = try await SSEFixture.start { $0.sseHeartbeatInterval = 50 }
        defer { fixture.stop() }
        let stream = try await fixture.connect("/sse/quiet?token=\(fixture.token("u", roles: [.user]))")
        #expect(try await stream.next().retry == "2000")
        #expect(try await stream.next() == TestSSEMessage(comments: ["ping"]))
        #expect(try await stream.next() == TestSSEMessage(comments: ["ping"]))
        await stream.close()
    }

    // MARK: - Status, metrics, limits

    @Test func streamsShowInTheStatusAndMetricsUntilTheyClose() async throws {
        let fixture = try await SSEFixture.start()
        defer { fixture.stop() }
        let stream = try await fixture.connect("/sse/ops?namespace=/monitoring&token=\(fixture.token("m", roles: [.monitor]))")
        _ = try await stream.next()
        let status = try await fixture.status()
        #expect(status["sse"] == ["connections": 1,
                                  "rooms": ["/": [:], "/admin": [:], "/chat": [:], "/monitoring": ["ops": 1]]])
        #expect(try await fixture.metrics().contains("\nhub_sse_connections 1"))

        await stream.close()
        try await fixture.eventually("the stream to leave the status") { fixture.hub.sseStats.connections == 0 }
        #expect(try await fixture.status()["sse"] == ["connections": 0,
                                                     "rooms": ["/": [:], "/admin": [:], "/chat": [:], "/monitoring": [:]]])
        let metrics = try await fixture.metrics()
        #expect(metrics.contains("\nhub_sse_connections 0"))
        #expect(metrics.contains("\nhub_sse_slow_consumer_closes_total 0"))
        #expect(try await fixture.hub.broadcaster.publish(type: "alert_created", data: [:], namespace: "/monitoring", rooms: ["ops"],
                                                          source: "test").delivered == 0, "the subscription ended")
    }

    @Test func streamsPastMaxConnectionsAreRefusedWith503() async throws {
        let fixture = try await SSEFixture.start { $0.maxConnections = 1 }
        defer { fixture.stop() }
        let token = fixture.token("u", roles: [.user])
        let first = try await fixture.connect("/sse/a?token=\(token)")
        let second = try await fixture.refusal("/sse/b?token=\(token)")
        #expect(second.status == .serviceUnavailable)
        #expect(try JSONValue.parse(second.text)["error"] == "service unavailable")
        await first.close()
        try await fixture.eventually("the first stream to close") { fixture.hub.sseStats.connections == 0 }
        let third = try await fixture.connect("/sse/b?token=\(token)")
        await third.close()
    }

    @Test func aClientThatStopsReadingIsClosedAsASlowConsumer() async throws {
        let fixture = try await SSEFixture.start {
            $0.sseMaxBufferedBytes = 64 * 1024
            $0.historySize = 10
        }
        defer { fixture.stop() }
        let stream = try await fixture.connect("/sse/firehose?token=\(fixture.token("u", roles: [.user]))")
        _ = try await stream.next()
        try await stream.channel.setOption(ChannelOptions.autoRead, value: false).get()

        // Publish until the hub drops the subscription on its own. The bound only guards against a
        // hang: the socket buffers between the two ends hold a few megabytes at most.
        let pad = JSONValue.string(String(repeating: "x", count: 8192))
        let bound = 10_000
        var published = 0
        while published < bound {
            published += 1
            let result = try await fixture.hub.broadcaster.publish(type: "chat_message", data: ["pad": pad], namespace: "/",
                                                                   rooms: ["firehose"], source: "test")
            if result.delivered == 0 { break }
        }
        #expect(published < bound, "the hub kept writing to a client that does not read")
        try await stream.channel.setOption(ChannelOptions.autoRead, value: true).get()
        stream.channel.read()
        try await stream.waitForClose(timeout: .seconds(30))
        try await fixture.eventually("the stream to be uncounted") { fixture.hub.sseStats.connections == 0 }
        #expect(try await fixture.metrics().contains("\nhub_sse_slow_consumer_closes_total 1"))
    }

    @Test func theDrainEndsStreams() async throws {
        let fixture = try await SSEFixture.start()
        let stream = try await fixture.connect("/sse/ops?token=\(fixture.token("u", roles: [.user]))")
        _ = try await stream.next()
        await fixture.server.stopAccepting()
        #expect(await fixture.server.closeConnections(until: .now() + .seconds(5)))
        try await stream.waitForClose()
        try await fixture.eventually("the stream to be uncounted") { fixture.hub.sseStats.connections == 0 }
    }
}

// MARK: - Fixture

/// A hub with JWT auth behind a real ``HTTPServer`` on 127.0.0.1 (a free port).
private struct SSEFixture {
    static let secret = "test-secret-for-the-sse-tests-0123456789ab"

    let hub: Hub
    let server: HTTPServer
    let address: SocketAddress

    static func configuration(_ configure: (inout HubConfiguration) -> Void = { _ in }) -> HubConfiguration {
        var configuration = HubConfiguration()
        configuration.jwtSecret = Self.secret
        configuration.port = 0
        configuration.logConnections = false
        configure(&configuration)
        return configuration
    }

    static func start(_ configure: (inout HubConfiguration) -> Void = { _ in }) async throws -> SSEFixture {
        var logger = Logger(label: "sse-tests")
        logger.logLevel = .critical
        let group = MultiThreadedEventLoopGroup.singleton
        let hub = try Hub(configuration: Self.configuration(configure), group: group, logger: logger)
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: hub.endpoints, group: group, logger: logger)
        let address = try await server.start()
        return SSEFixture(hub: hub, server: server, address: address)
    }

    func stop() {
        let server = self.server
        Task {
            await server.stopAccepting()
            await server.closeConnections(until: .now())
        }
    }

    func token(_ subject: String, roles: Set<Role>, rooms: Set<String>? = nil) -> String {
        self.hub.authenticator.issueToken(subject: subject, roles: roles, rooms: rooms)!
    }

    func connect(_ uri: String, headers: HTTPHeaders = [:]) async throws -> TestEventStream {
        try await TestEventStream.connect(to: self.address, uri: uri, headers: headers)
    }

    /// The answer to a request that must not start a stream.
    func refusal(_ uri: String, method: HTTPMethod = .GET, headers: HTTPHeaders = [:]) async throws -> TestHTTPResponse {
        switch try await TestEventStream.open(to: self.address, uri: uri, headers: headers, method: method) {
        case .refused(let response):
            return response
        case .streaming(let stream):
            await stream.close()
            throw TestClientError.unexpected("\(uri) started a stream")
        }
    }

    func publish(_ type: String, room: String, namespace: String = "/monitoring") async throws {
        try await self.hub.broadcaster.publish(type: type, data: ["room": .string(room)], namespace: namespace, rooms: [room],
                                               source: "test")
    }

    func status() async throws -> JSONValue {
        let response = try await TestHTTPClient(address: self.address)
            .get("/api/websocket/status", headers: ["Authorization": "Bearer \(self.token("admin", roles: [.admin]))"])
        return try JSONValue.parse(response.text)
    }

    func metrics() async throws -> String {
        try await TestHTTPClient(address: self.address).get("/metrics").text
    }

    /// Polls `condition` (the connection's close reaches the hub a moment after the client's).
    func eventually(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<500 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestClientError.timedOut(what)
    }
}

import EngineIO
import Foundation
@testable import Hub
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import SocketIO
import TestSupport
import Testing

/// The /stream gateway end to end: a real ``HTTPServer`` on 127.0.0.1 serving `hub.endpoints`, and
/// a WebSocket client over loopback. Every wait is bounded (see ``StreamTestQueue``) only to turn a
/// hang into a failure; nothing asserts on timing.
@Suite struct StreamEndpointTests {
    // MARK: - Plain HTTP

    @Test func plainRequestsAreNotUpgrades() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }

        let get = try await fixture.http(.GET, "/stream")
        #expect(get.status == .upgradeRequired)
        #expect(get.headers["Upgrade"] == ["websocket"])
        #expect(get.headers["Content-Type"] == ["application/json"])
        #expect(try JSONValue.parse(get.text) == ["error": "upgrade required", "message": "connect with a WebSocket client"])

        #expect(try await fixture.http(.GET, "/stream/lobby").status == .upgradeRequired)
        let post = try await fixture.http(.POST, "/stream")
        #expect(post.status == .methodNotAllowed)
        #expect(post.headers["Allow"] == ["GET"])
        #expect(try await fixture.http(.GET, "/stream/a/b").status == .badRequest)
    }

    @Test func pathTargets() {
        #expect(StreamEndpoint.target(of: "/stream") == .bare)
        #expect(StreamEndpoint.target(of: "/stream/") == .bare)
        #expect(StreamEndpoint.target(of: "/stream/ops") == .room("ops"))
        #expect(StreamEndpoint.target(of: "/stream/team%2Fops") == .room("team/ops"))
        #expect(StreamEndpoint.target(of: "/stream/a/b") == nil)
        #expect(StreamEndpoint.target(of: "/stream/%zz") == nil)
        #expect(StreamEndpoint.target(of: "/streams") == nil)
    }

    // MARK: - Authentication

    @Test func authenticatesWithTheQueryToken() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let token = fixture.token("alice", roles: [.user, .monitor])
        let socket = try await fixture.connect("/stream?token=\(token)")
        #expect(try await socket.nextText() == #"{"type":"authenticated","user":"alice","roles":["monitor","user"]}"#)
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        await socket.close()
    }

    @Test func authenticatesWithTheFirstMessage() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.connect()
        // Before authentication only ping and auth are accepted.
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        socket.send(text: #"{"action":"subscribe","room":"ops"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "not authenticated"])
        socket.send(text: #"{"action":"auth","token":"\#(fixture.token("bob", roles: [.service]))"}"#)
        #expect(try await socket.nextText() == #"{"type":"authenticated","user":"bob","roles":["service"]}"#)
        socket.send(text: #"{"action":"auth","token":"x"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "refresh refused", "reason": "malformed token"])
        await socket.close()
    }

    @Test func badQueryTokenIsRefusedWith1008() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.connect("/stream?token=not-a-token")
        #expect(try await socket.nextJSON() == ["type": "error", "message": "unauthorized", "reason": "malformed token"])
        #expect(try await socket.nextClose() == StreamTestClose(code: 1008, reason: "unauthorized"))
        try await socket.waitForClose()
    }

    @Test func badTokenInMessageIsRefusedWith1008() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let other = TokenAuthenticator(jwtSecret: String(repeating: "o", count: 32), staticTokens: [])
        let forged = try #require(other.issueToken(subject: "mallory", roles: [.admin]))
        let socket = try await fixture.connect()
        socket.send(text: #"{"action":"auth","token":"\#(forged)"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "unauthorized", "reason": "invalid signature"])
        #expect(try await socket.nextClose() == StreamTestClose(code: 1008, reason: "unauthorized"))
    }

    @Test func withoutAuthenticationTheConnectionIsClosedAfterTheTimeout() async throws {
        let fixture = try await StreamFixture.start { $0.streamAuthTimeout = 50 }
        defer { fixture.stop() }
        let socket = try await fixture.connect()
        #expect(try await socket.nextJSON() == ["type": "error", "message": "authentication timeout"])
        #expect(try await socket.nextClose() == StreamTestClose(code: 1008, reason: "authentication timeout"))
        try await socket.waitForClose()
    }

    // MARK: - Subscriptions

    @Test func subscribeThenLiveEventWithExactJSON() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.monitor])
        socket.send(text: #"{"action":"subscribe","namespace":"/monitoring","room":"ops","event_types":["alert_created"]}"#)
        #expect(try await socket.nextText()
            == #"{"type":"subscribed","namespace":"/monitoring","room":"ops","event_types":["alert_created"],"latest_offset":0}"#)

        let result = try await fixture.hub.broadcaster.publish(
            type: "alert_created", data: ["level": "warning", "message": "disk 91% full"], namespace: "/monitoring",
            rooms: ["ops"], source: "test")
        #expect(result.delivered == 1)
        let event = try #require(result.events.first)
        let timestamp = try #require(event.json["timestamp"]?.stringValue)
        #expect(try await socket.nextText() == """
            {"type":"event","event":{"id":"\(event.id)","type":"alert_created","room":"ops","namespace":"/monitoring",\
            "data":{"level":"warning","message":"disk 91% full"},"timestamp":"\(timestamp)","source":"test","offset":1}}
            """)
        await socket.close()
    }

    @Test func onlyTheRequestedEventTypesAreDelivered() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.service])
        try await socket.subscribe(#"{"action":"subscribe","namespace":"/monitoring","room":"ops","event_types":["task_failed"]}"#)
        let hub = fixture.hub
        try await hub.broadcaster.publish(type: "task_started", data: ["task": "a"], namespace: "/monitoring", rooms: ["ops"], source: "test")
        try await hub.broadcaster.publish(type: "task_failed", data: ["task": "a"], namespace: "/monitoring", rooms: ["ops"], source: "test")
        // Same room, other namespace: not this subscription.
        try await hub.broadcaster.publish(type: "task_failed", data: ["task": "b"], namespace: "/", rooms: ["ops"], source: "test")
        let event = try await socket.nextJSON()
        #expect(event["event"]?["type"] == "task_failed")
        #expect(event["event"]?["data"] == ["task": "a"])
        #expect(event["event"]?["offset"] == 2)
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        await socket.close()
    }

    @Test func sinceReplaysHistoryThenLiveWithoutDuplicates() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let hub = fixture.hub
        var published: [HubEvent] = []
        for n in 1...3 {
            published += try await hub.broadcaster.publish(type: "chat_message", data: ["n": .number(Double(n))], namespace: "/chat",
                                                       rooms: ["lobby"], source: "test").events
        }
        let socket = try await fixture.authenticated(roles: [.user])
        socket.send(text: #"{"action":"subscribe","namespace":"/chat","room":"lobby","since":1}"#)
        #expect(try await socket.nextJSON()
            == ["type": "subscribed", "namespace": "/chat", "room": "lobby", "event_types": nil, "latest_offset": 3])
        #expect(try await socket.nextJSON() == ["type": "event", "event": published[1].json])
        #expect(try await socket.nextJSON() == ["type": "event", "event": published[2].json])
        let live = try await hub.broadcaster.publish(type: "chat_message", data: ["n": 4], namespace: "/chat", rooms: ["lobby"], source: "test")
        #expect(try await socket.nextJSON() == ["type": "event", "event": live.events[0].json])
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        await socket.close()
    }

    @Test func replayAndLiveEventsPublishedMeanwhileHaveNoGapsOrDuplicates() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let hub = fixture.hub
        let total = 300
        let socket = try await fixture.authenticated(roles: [.user])
        // One publisher, so offsets are handed out and dispatched in order; the subscription
        // starts somewhere in the middle of it.
        let publisher = Task {
            for n in 1...total {
                try await hub.broadcaster.publish(type: "chat_message", data: ["n": .number(Double(n))], namespace: "/",
                                              rooms: ["race"], source: "test")
            }
        }
        socket.send(text: #"{"action":"subscribe","room":"race","since":0}"#)
        #expect(try await socket.nextJSON()["type"] == "subscribed")
        var offsets: [Int] = []
        while offsets.last != total {
            let message = try await socket.nextJSON()
            offsets.append(try #require(message["event"]?["offset"]?.intValue))
        }
        try await publisher.value
        #expect(offsets == Array(1...total))
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        await socket.close()
    }

    @Test func subscriptionsFollowTheChannelGrants() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user], rooms: ["lobby"])
        socket.send(text: #"{"action":"subscribe","namespace":"/monitoring","room":"ops"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "forbidden", "reason": "role required for /monitoring",
                                                "namespace": "/monitoring", "room": "ops"])
        socket.send(text: #"{"action":"subscribe","room":"admin"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "forbidden", "reason": "role required for room admin",
                                                "namespace": "/", "room": "admin"])
        socket.send(text: #"{"action":"subscribe","namespace":"/chat","room":"secret"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "forbidden", "reason": "room not granted",
                                                "namespace": "/chat", "room": "secret"])
        socket.send(text: #"{"action":"subscribe","namespace":"/nowhere","room":"lobby"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "invalid namespace", "namespace": "/nowhere", "room": "lobby"])
        try await socket.subscribe(#"{"action":"subscribe","namespace":"/chat","room":"lobby"}"#)
        await socket.close()
    }

    @Test func unsubscribeStopsDelivery() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        try await socket.subscribe(#"{"action":"subscribe","room":"lobby"}"#)
        socket.send(text: #"{"action":"unsubscribe","room":"lobby"}"#)
        #expect(try await socket.nextText() == #"{"type":"unsubscribed","namespace":"/","room":"lobby"}"#)
        let result = try await fixture.hub.broadcaster.publish(type: "chat_message", data: ["n": 1], namespace: "/", rooms: ["lobby"], source: "test")
        #expect(result.delivered == 0)
        socket.send(text: #"{"action":"unsubscribe","room":"lobby"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "not subscribed", "namespace": "/", "room": "lobby"])
        await socket.close()
    }

    @Test func pathRoomIsSubscribedInTheDefaultNamespace() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.connect("/stream/team%20a?token=\(fixture.token("uma", roles: [.user]))")
        #expect(try await socket.nextJSON()["type"] == "authenticated")
        #expect(try await socket.nextJSON()
            == ["type": "subscribed", "namespace": "/", "room": "team a", "event_types": nil, "latest_offset": 0])
        let result = try await fixture.hub.broadcaster.publish(type: "chat_message", data: ["hi": true], namespace: "/", rooms: ["team a"],
                                                           source: "test")
        #expect(try await socket.nextJSON() == ["type": "event", "event": result.events[0].json])
        await socket.close()
    }

    @Test func subscriptionsPerConnectionAreBounded() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        let limit = StreamEndpoint.maxSubscriptionsPerConnection
        for n in 0..<limit {
            try await socket.subscribe(#"{"action":"subscribe","room":"r\#(n)"}"#)
        }
        socket.send(text: #"{"action":"subscribe","room":"one-more"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "too many subscriptions",
                                                "reason": .string("at most \(limit) per connection"), "namespace": "/", "room": "one-more"])
        await socket.close()
    }


    // MARK: - Publishing

    @Test func publishReachesSubscribersAndIsAnsweredWithTheRef() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let listener = try await fixture.authenticated(roles: [.monitor])
        try await listener.subscribe(#"{"action":"subscribe","namespace":"/monitoring","room":"ops"}"#)
        let publisher = try await fixture.authenticated(roles: [.service], subject: "agent-7")
        publisher.send(text: #"{"action":"publish","namespace":"/monitoring","room":"ops","event":"task_failed","data":{"task_id":"t1","error":"boom"},"ref":"r-1"}"#)
        let answer = try await publisher.nextJSON()
        #expect(answer["type"] == "published")
        #expect(answer["delivered"] == 1)
        #expect(answer["ref"] == "r-1")
        let id = try #require(answer["id"]?.stringValue)
        let message = try await listener.nextJSON()
        #expect(message["type"] == "event")
        #expect(message["event"]?["id"] == .string(id))
        #expect(message["event"]?["type"] == "task_failed")
        #expect(message["event"]?["room"] == "ops")
        #expect(message["event"]?["namespace"] == "/monitoring")
        #expect(message["event"]?["data"] == ["task_id": "t1", "error": "boom"])
        #expect(message["event"]?["source"] == "stream:agent-7")
        #expect(message["event"]?["offset"] == 1)
        // Kept in history like any publish.
        #expect(fixture.hub.history.latestOffset(namespace: "/monitoring", room: "ops") == 1)
        await listener.close()
        await publisher.close()
    }

    @Test func publishFollowsTheSocketRules() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let user = try await fixture.authenticated(roles: [.user], subject: "uma")
        // Not in the room.
        user.send(text: #"{"action":"publish","room":"lobby","event":"chat_message","data":{"m":"hi"},"ref":1}"#)
        #expect(try await user.nextJSON() == ["type": "error", "message": "publish refused", "reason": "join the room first",
                                              "namespace": "/", "room": "lobby", "ref": 1])
        // In the room (subscribed): allowed; the sender's own subscription gets the event too.
        try await user.subscribe(#"{"action":"subscribe","room":"lobby"}"#)
        user.send(text: #"{"action":"publish","room":"lobby","event":"chat_message","data":{"m":"hi"},"ref":2}"#)
        var types: [JSONValue] = []
        for _ in 0..<2 {
            types.append(try await user.nextJSON()["type"] ?? .null)
        }
        #expect(types.contains("published") && types.contains("event"))
        // A user may not publish agent events, even into a room it is in.
        user.send(text: #"{"action":"publish","room":"lobby","event":"task_failed","data":{}}"#)
        #expect(try await user.nextJSON() == ["type": "error", "message": "publish refused",
                                              "reason": "role required to publish task_failed", "namespace": "/", "room": "lobby"])
        // Presence events are the hub's own.
        user.send(text: #"{"action":"publish","room":"lobby","event":"user_joined","data":{}}"#)
        #expect(try await user.nextJSON()["reason"] == "reserved event name")
        // Nor into a namespace its roles do not admit.
        user.send(text: #"{"action":"publish","namespace":"/monitoring","room":"ops","event":"chat_message","data":{}}"#)
        #expect(try await user.nextJSON() == ["type": "error", "message": "forbidden", "reason": "role required for /monitoring",
                                              "namespace": "/monitoring", "room": "ops"])
        // data must be an object.
        user.send(text: #"{"action":"publish","room":"lobby","event":"chat_message","data":"hi"}"#)
        #expect(try await user.nextJSON() == ["type": "error", "message": "invalid field: data must be an object"])

        // A service publishes into granted rooms only.
        let service = try await fixture.authenticated(roles: [.service], rooms: ["ops"])
        service.send(text: #"{"action":"publish","room":"other","event":"task_failed","data":{}}"#)
        #expect(try await service.nextJSON() == ["type": "error", "message": "publish refused", "reason": "room not granted",
                                                 "namespace": "/", "room": "other"])
        // Any valid name, such as an AG-UI event; not a reserved, empty or control-character one.
        service.send(text: #"{"action":"publish","room":"ops","event":"RUN_STARTED","data":{"threadId":"t","runId":"r"}}"#)
        #expect(try await service.nextJSON()["type"] == "published")
        service.send(text: #"{"action":"publish","room":"ops","event":"connect","data":{}}"#)
        #expect(try await service.nextJSON()["reason"] == "reserved event name")
        service.send(text: #"{"action":"publish","room":"ops","event":"","data":{}}"#)
        #expect(try await service.nextJSON()["reason"] == "event name must not be empty")
        service.send(text: #"{"action":"publish","room":"ops","event":"a\u0007b","data":{}}"#)
        #expect(try await service.nextJSON()["reason"] == "event name contains a control character")
        let refused = await fixture.hub.metrics.render(hub: fixture.hub)
        #expect(refused.contains(#"hub_events_refused_total{reason="reserved_name"} 2"#))
        // The connections stay open.
        user.send(text: #"{"type":"ping"}"#)
        #expect(try await user.nextText() == #"{"type":"pong"}"#)
        await user.close()
        await service.close()
    }

    @Test func publishesAreRateLimitedLikeASocketsEvents() async throws {
        let fixture = try await StreamFixture.start {
            $0.eventRateLimit = 1
            $0.eventRateBurst = 2
        }
        defer { fixture.stop() }
        let service = try await fixture.authenticated(roles: [.service])
        // The burst (2) goes through; then refusals (a token comes back each second, so on a slow
        // machine one more may pass); a whole burst refused in a row closes the connection.
        var answers: [StreamTestMessage] = []
        for n in 1...20 {
            service.send(text: #"{"action":"publish","room":"ops","event":"task_failed","data":{},"ref":"# + "\(n)}")
            let answer = try await service.next()
            answers.append(answer)
            if case .close = answer { break }
        }
        let published = answers.prefix { if case .text(let text) = $0 { text.contains(#""type":"published""#) } else { false } }
        #expect(published.count >= 2)
        #expect(answers.contains { if case .text(let text) = $0 { text.hasPrefix(#"{"type":"error","message":"rate limited","ref":"#) } else { false } })
        #expect(answers.last == .close(code: 1008, reason: "rate limited"))
        try await service.waitForClose()
        let metrics = await fixture.hub.metrics.render(hub: fixture.hub)
        #expect((metricValue(metrics, #"hub_limits_reached_total{limit="eventRateLimit"}"#) ?? 0) >= 2)
    }

    // MARK: - Subscribing without a room

    @Test func subscribeWithoutRoomGetsEveryReadableRoomFilteredByType() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.monitor])
        socket.send(text: #"{"action":"subscribe","namespace":"/monitoring","event_types":["alert_created","task_failed"],"ref":"all"}"#)
        #expect(try await socket.nextText()
            == #"{"type":"subscribed","namespace":"/monitoring","room":null,"event_types":["alert_created","task_failed"],"ref":"all"}"#)
        let hub = fixture.hub
        try await hub.broadcaster.publish(type: "task_started", data: ["n": 0], namespace: "/monitoring", rooms: ["a"], source: "test")
        let a = try await hub.broadcaster.publish(type: "task_failed", data: ["n": 1], namespace: "/monitoring", rooms: ["a"], source: "test")
        let b = try await hub.broadcaster.publish(type: "task_failed", data: ["n": 2], namespace: "/monitoring", rooms: ["b"], source: "test")
        try await hub.broadcaster.publish(type: "task_failed", data: ["n": 3], namespace: "/chat", rooms: ["a"], source: "test")
        let alert = try await hub.broadcaster.alert(level: .warning, message: "disk", source: "node-3")
        #expect(try await socket.nextJSON() == ["type": "event", "event": a.events[0].json])
        #expect(try await socket.nextJSON() == ["type": "event", "event": b.events[0].json])
        // The alert to the whole of /monitoring (room null).
        let wide = try #require(alert.events.first { $0.namespace == "/monitoring" })
        #expect(try await socket.nextJSON() == ["type": "event", "event": wide.json])
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)

        socket.send(text: #"{"action":"subscribe","namespace":"/monitoring","since":3}"#)
        #expect(try await socket.nextJSON()
            == ["type": "error", "message": "invalid field: since must be absent without a room (offsets are per room)"])
        await socket.close()
    }

    @Test func everyReadableRoomRespectsTheRoomGrant() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user], rooms: ["lobby"])
        socket.send(text: #"{"action":"subscribe","namespace":"/chat"}"#)
        #expect(try await socket.nextJSON() == ["type": "subscribed", "namespace": "/chat", "room": nil, "event_types": nil])
        let hub = fixture.hub
        #expect(try await hub.broadcaster.publish(type: "chat_message", data: [:], namespace: "/chat", rooms: ["secret"], source: "test")
            .delivered == 0)
        let lobby = try await hub.broadcaster.publish(type: "chat_message", data: [:], namespace: "/chat", rooms: ["lobby"], source: "test")
        #expect(lobby.delivered == 1)
        #expect(try await socket.nextJSON() == ["type": "event", "event": lobby.events[0].json])
        await socket.close()
    }

    @Test func overlappingSubscriptionsGetAnEventOnce() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        try await socket.subscribe(#"{"action":"subscribe","room":"ops"}"#)
        try await socket.subscribe(#"{"action":"subscribe"}"#)
        let result = try await fixture.hub.broadcaster.publish(type: "chat_message", data: ["n": 1], namespace: "/", rooms: ["ops"], source: "test")
        #expect(result.delivered == 1)
        #expect(try await socket.nextJSON() == ["type": "event", "event": result.events[0].json])
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#) // no second copy came first
        await socket.close()
    }

    // MARK: - Heartbeat

    @Test func pingAndPongInBothForms() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.connect()
        socket.send(text: #"{"type":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        socket.send(text: #"{"action":"ping","ref":42}"#)
        #expect(try await socket.nextText() == #"{"type":"pong","ref":42}"#)
        socket.send(text: #"{"type":"ping","ref":"hb"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong","ref":"hb"}"#)
        await socket.close()
    }

    @Test func theServerPingsAndClosesAClientThatDoesNotAnswer() async throws {
        let fixture = try await StreamFixture.start {
            $0.streamPingInterval = 300
            $0.streamPingTimeout = 100
        }
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        socket.send(text: #"{"action":"subscribe","room":"quiet"}"#)
        // The test client never answers pings: a ping, then the close (the subscribed answer
        // before them; a second ping may come before the close on a slow machine).
        var frames: [StreamTestMessage] = []
        while true {
            let frame = try await socket.next()
            frames.append(frame)
            if case .close = frame { break }
        }
        #expect(frames.first { if case .ping = $0 { true } else { false } } == .ping([]))
        // (On a starved machine the close may even come before the subscribe was read; then the
        // subscription never started, and the checks below hold all the same.)
        #expect(frames.last == .close(code: 1001, reason: "ping timeout"))
        try await socket.waitForClose()
        let result = try await fixture.hub.broadcaster.publish(type: "chat_message", data: [:], namespace: "/", rooms: ["quiet"], source: "test")
        #expect(result.delivered == 0)
        try await eventually { fixture.hub.streamStats.snapshot == StreamStats.Snapshot(connections: 0, subscriptions: 0, rooms: [:], allRooms: [:]) }
    }

    @Test func aClientThatAnswersPingsStays() async throws {
        // A long timeout: only a client that never answers may be closed, however loaded the machine.
        let fixture = try await StreamFixture.start {
            $0.streamPingInterval = 50
            $0.streamPingTimeout = 5000
        }
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        for _ in 0..<4 {
            guard case .ping(let data) = try await socket.next() else { Issue.record("expected a ping"); return }
            socket.send(WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer(bytes: data)))
        }
        socket.send(text: #"{"action":"ping"}"#)
        var answer = try await socket.next()
        while case .ping = answer { answer = try await socket.next() }
        #expect(answer == .text(#"{"type":"pong"}"#))
        await socket.close()
    }

    // MARK: - Connection log

    @Test func connectionsAreLoggedWithoutTheToken() async throws {
        let records = TestLogRecorder()
        let fixture = try await StreamFixture.start(logHandler: records)
        defer { fixture.stop() }
        let token = fixture.token("lena", roles: [.user])
        let socket = try await fixture.connect("/stream?token=\(token)")
        #expect(try await socket.nextJSON()["type"] == "authenticated")
        socket.sendClose()
        #expect(try await socket.nextClose()?.code == 1000)
        try await socket.waitForClose()
        try await eventually { records.lines.contains { $0.contains("stream disconnected") } }
        let connected = try #require(records.lines.first { $0.contains("stream connected") })
        #expect(connected.hasPrefix("info stream connected remote=127.0.0.1:"))
        #expect(connected.hasSuffix(" user=lena"))
        let disconnected = try #require(records.lines.first { $0.contains("stream disconnected") })
        #expect(disconnected.hasPrefix("info stream disconnected duration_ms="))
        #expect(disconnected.contains("reason=client closed (1000) remote=127.0.0.1:"))
        #expect(disconnected.hasSuffix(" user=lena"))
        #expect(!records.lines.contains { $0.contains(token) })
    }

    @Test func theConnectionLogCanBeTurnedOff() async throws {
        let records = TestLogRecorder()
        let fixture = try await StreamFixture.start(logHandler: records) { $0.logConnections = false }
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        socket.sendClose()
        _ = try await socket.nextClose()
        try await socket.waitForClose()
        try await eventually { fixture.hub.streamStats.snapshot.connections == 0 }
        #expect(!records.lines.contains { $0.contains("stream connected") || $0.contains("stream disconnected") })
    }

    // MARK: - Status and metrics

    @Test func statusAndMetricsCountConnectionsAndSubscriptions() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let a = try await fixture.authenticated(roles: [.monitor])
        try await a.subscribe(#"{"action":"subscribe","namespace":"/monitoring","room":"ops"}"#)
        try await a.subscribe(#"{"action":"subscribe","namespace":"/monitoring"}"#)
        let b = try await fixture.authenticated(roles: [.user])
        try await b.subscribe(#"{"action":"subscribe","room":"lobby"}"#)
        try await b.subscribe(#"{"action":"subscribe","namespace":"/chat","room":"lobby"}"#)
        let c = try await fixture.connect() // not authenticated yet: a connection, no subscription

        try await eventually { fixture.hub.streamStats.snapshot.connections == 3 }
        let status = await StatusReport.gather(from: fixture.hub).json
        #expect(status["stream"] == [
            "connections": 3, "subscriptions": 4,
            "rooms": ["/": ["lobby": 1], "/chat": ["lobby": 1], "/monitoring": ["ops": 1]],
            "all_rooms": ["/monitoring": 1],
        ])
        #expect(status["stream"]?.jsonString
            == #"{"connections":3,"subscriptions":4,"rooms":{"/":{"lobby":1},"/chat":{"lobby":1},"/monitoring":{"ops":1}},"all_rooms":{"/monitoring":1}}"#)
        let metrics = await fixture.hub.metrics.render(hub: fixture.hub)
        #expect(metricValue(metrics, "hub_stream_connections") == 3)
        #expect(metricValue(metrics, "hub_stream_subscriptions") == 4)

        b.send(text: #"{"action":"unsubscribe","room":"lobby"}"#)
        #expect(try await b.nextJSON()["type"] == "unsubscribed")
        await a.close()
        await c.close()
        try await eventually { fixture.hub.streamStats.snapshot.connections == 1 }
        #expect(await StatusReport.gather(from: fixture.hub).json["stream"]
            == ["connections": 1, "subscriptions": 1, "rooms": ["/chat": ["lobby": 1]], "all_rooms": [:]])
        let after = await fixture.hub.metrics.render(hub: fixture.hub)
        #expect(metricValue(after, "hub_stream_connections") == 1)
        #expect(metricValue(after, "hub_stream_subscriptions") == 1)
        await b.close()
    }

    // MARK: - Errors and closing

    @Test func errorsKeepTheConnectionOpen() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        socket.send(text: "hello")
        #expect(try await socket.nextJSON() == ["type": "error", "message": "invalid JSON"])
        socket.send(text: #"{"action":"dance"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "unknown action: dance"])
        socket.send(text: #"{"action":"publish","ref":"x"}"#)
        #expect(try await socket.nextJSON() == ["type": "error", "message": "missing field: room", "ref": "x"])
        socket.send(bytes: [1, 2, 3])
        #expect(try await socket.nextJSON() == ["type": "error", "message": "binary frames are not supported"])
        socket.send(text: #"{"action":"ping"}"#)
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        await socket.close()
    }

    @Test func webSocketPingIsAnsweredWithPong() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.connect()
        socket.send(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "hb")))
        #expect(try await socket.next() == .pong(Array("hb".utf8)))
        await socket.close()
    }

    @Test func invalidUTF8ClosesWith1007AndEndsSubscriptions() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        try await socket.subscribe(#"{"action":"subscribe","room":"lobby"}"#)
        socket.send(bytes: [0x7B, 0xFF, 0xFE, 0x7D], opcode: .text)
        #expect(try await socket.nextClose() == StreamTestClose(code: 1007, reason: "invalid UTF-8"))
        // The server ended the subscriptions before it sent the close frame.
        let result = try await fixture.hub.broadcaster.publish(type: "chat_message", data: ["n": 1], namespace: "/", rooms: ["lobby"], source: "test")
        #expect(result.delivered == 0)
        try await socket.waitForClose()
    }

    @Test func messagesOverTheLimitCloseWith1009() async throws {
        let fixture = try await StreamFixture.start { $0.maxHttpBufferSize = 1024 }
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        socket.send(text: #"{"action":"ping","pad":""# + String(repeating: "x", count: 2000) + #""}"#)
        #expect(try await socket.nextClose()?.code == 1009)
        try await socket.waitForClose()
    }

    @Test func fragmentedMessagesOverTheLimitCloseWith1009() async throws {
        let fixture = try await StreamFixture.start { $0.maxHttpBufferSize = 1024 }
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        // Each fragment fits; together they do not.
        socket.send(WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(string: String(repeating: " ", count: 800))))
        socket.send(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: String(repeating: " ", count: 800))))
        #expect(try await socket.nextClose() == StreamTestClose(code: 1009, reason: "message too large"))
        try await socket.waitForClose()
    }

    @Test func fragmentedMessagesWithinTheLimitAreReassembled() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.connect()
        socket.send(WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(string: #"{"action":"#)))
        socket.send(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: #""ping"}"#)))
        #expect(try await socket.nextText() == #"{"type":"pong"}"#)
        await socket.close()
    }

    @Test func aClientThatStopsReadingIsClosedAsASlowConsumer() async throws {
        let fixture = try await StreamFixture.start {
            $0.maxHttpBufferSize = 64 * 1024
            $0.historySize = 10
        }
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        try await socket.subscribe(#"{"action":"subscribe","room":"firehose"}"#)
        try await socket.channel.setOption(ChannelOptions.autoRead, value: false).get()

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

        // Reading again: whatever was buffered, then (unless the grace period ran out first) the close frame.
        try await socket.channel.setOption(ChannelOptions.autoRead, value: true).get()
        socket.channel.read()
        var close: StreamTestClose?
        reading: while true {
            do {
                if case .close(let code, let reason) = try await socket.next() {
                    close = StreamTestClose(code: code, reason: reason)
                    break reading
                }
            } catch TestClientError.connectionClosed {
                break reading
            }
        }
        if let close {
            #expect(close == StreamTestClose(code: 1008, reason: "slow consumer"))
        }
        try await socket.waitForClose()
    }

    @Test func clientCloseIsAnsweredAndEndsSubscriptions() async throws {
        let fixture = try await StreamFixture.start()
        defer { fixture.stop() }
        let socket = try await fixture.authenticated(roles: [.user])
        try await socket.subscribe(#"{"action":"subscribe","room":"a"}"#)
        try await socket.subscribe(#"{"action":"subscribe","namespace":"/chat","room":"b"}"#)
        socket.sendClose()
        #expect(try await socket.nextClose()?.code == 1000)
        let hub = fixture.hub
        #expect(try await hub.broadcaster.publish(type: "chat_message", data: [:], namespace: "/", rooms: ["a"], source: "test").delivered == 0)
        #expect(try await hub.broadcaster.publish(type: "chat_message", data: [:], namespace: "/chat", rooms: ["b"], source: "test").delivered == 0)
        try await socket.waitForClose()
    }
}

// MARK: - Fixture

/// A hub with JWT auth behind a real ``HTTPServer`` on 127.0.0.1 (a free port).
private struct StreamFixture {
    /// A JWT secret long enough for ``HubConfiguration/validate()`` (32 bytes at least).
    static let secret = "test-secret-for-the-stream-tests-0123456789"

    let hub: Hub
    let server: HTTPServer
    let address: SocketAddress

    static func start(logHandler: TestLogRecorder? = nil,
                      _ configure: (inout HubConfiguration) -> Void = { _ in }) async throws -> StreamFixture {
        var configuration = HubConfiguration()
        configuration.jwtSecret = Self.secret
        configuration.port = 0
        configure(&configuration)
        var logger = logHandler.map { handler in Logger(label: "stream-tests") { _ in handler } } ?? Logger(label: "stream-tests")
        logger.logLevel = logHandler == nil ? .critical : .trace
        let group = MultiThreadedEventLoopGroup.singleton
        let hub = try Hub(configuration: configuration, group: group, logger: logger)
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: hub.endpoints, group: group, logger: logger)
        let address = try await server.start()
        return StreamFixture(hub: hub, server: server, address: address)
    }

    func stop() {
        let server = self.server
        Task { await server.stopAccepting() }
    }

    func token(_ subject: String, roles: Set<Role>, rooms: Set<String>? = nil) -> String {
        self.hub.authenticator.issueToken(subject: subject, roles: roles, rooms: rooms)!
    }

    func connect(_ uri: String = "/stream") async throws -> StreamTestSocket {
        try await StreamTestSocket.connect(to: self.address, uri: uri)
    }

    /// A connection authenticated by query token (the `authenticated` message is consumed).
    func authenticated(roles: Set<Role>, rooms: Set<String>? = nil, subject: String = "tester") async throws -> StreamTestSocket {
        let socket = try await self.connect("/stream?token=\(self.token(subject, roles: roles, rooms: rooms))")
        let message = try await socket.nextJSON()
        guard message["type"] == "authenticated" else { throw TestClientError.unexpected("\(message)") }
        return socket
    }

    /// One plain HTTP request on a fresh connection.
    func http(_ method: HTTPMethod, _ uri: String) async throws -> StreamTestHTTPResponse {
        try await StreamTestHTTPResponse.request(method, uri, to: self.address)
    }
}

// MARK: - Minimal NIO clients (after Tests/EngineIOTests/Support/TestClients.swift)

/// The guard on every wait: only bounds a hang.
private let streamTestTimeout = TimeAmount.seconds(10)

/// The value of the unlabelled metric `name` in a Prometheus text exposition.
private func metricValue(_ text: String, _ name: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1))
    }
    return nil
}

/// Waits until `condition` holds (the hub updates its counts when a connection's close is
/// processed, a moment after the client sees it); fails after ``streamTestTimeout``.
private func eventually(_ condition: @Sendable () async -> Bool) async throws {
    let deadline = NIODeadline.now() + streamTestTimeout
    while !(await condition()) {
        guard NIODeadline.now() < deadline else { throw TestClientError.unexpected("condition not met in time") }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
}

/// A close frame's status code and reason.
private struct StreamTestClose: Equatable {
    var code: UInt16?
    var reason: String
}

/// A frame the client received.
private enum StreamTestMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    case close(code: UInt16?, reason: String)
    case ping([UInt8])
    case pong([UInt8])

    init(_ frame: WebSocketFrame) {
        var data = frame.unmaskedData
        switch frame.opcode {
        case .text: self = .text(String(decoding: data.readableBytesView, as: UTF8.self))
        case .connectionClose:
            let code = data.readInteger(as: UInt16.self)
            self = .close(code: code, reason: data.readString(length: data.readableBytes) ?? "")
        case .ping: self = .ping(Array(data.readableBytesView))
        case .pong: self = .pong(Array(data.readableBytesView))
        default: self = .binary(Array(data.readableBytesView))
        }
    }
}

private final class StreamTestFrameCollector: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    private let messages: TestAsyncQueue<StreamTestMessage>

    init(messages: TestAsyncQueue<StreamTestMessage>) {
        self.messages = messages
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.messages.push(StreamTestMessage(self.unwrapInboundIn(data)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.messages.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The handshake, without NIO's upgrade machinery (whose deferred handler removal can lose frames
/// a server sends right before closing): writes the upgrade request when the connection is active,
/// reads the response head, and passes every byte after it on to the WebSocket frame decoder.
private final class StreamTestHandshake: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let uri: String
    private let upgraded: EventLoopPromise<Void>
    private var head = ByteBuffer()
    private var isUpgraded = false

    init(uri: String, upgraded: EventLoopPromise<Void>) {
        self.uri = uri
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = "GET \(self.uri) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        if self.isUpgraded {
            return context.fireChannelRead(self.wrapInboundOut(bytes))
        }
        self.head.writeBuffer(&bytes)
        let view = self.head.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
        let headText = String(decoding: view[..<end.lowerBound], as: UTF8.self)
        guard headText.hasPrefix("HTTP/1.1 101") else {
            self.upgraded.fail(TestClientError.unexpected("upgrade refused: \(headText)"))
            return context.close(promise: nil)
        }
        self.isUpgraded = true
        self.upgraded.succeed()
        self.head.moveReaderIndex(to: end.upperBound)
        if self.head.readableBytes > 0 {
            context.fireChannelRead(self.wrapInboundOut(self.head))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.upgraded.fail(TestClientError.connectionClosed)
        context.fireChannelInactive()
    }
}

/// A client WebSocket: frames it sends are masked; frames it receives are queued.
private final class StreamTestSocket: Sendable {
    let channel: Channel
    private let messages: TestAsyncQueue<StreamTestMessage>

    private init(channel: Channel, messages: TestAsyncQueue<StreamTestMessage>) {
        self.channel = channel
        self.messages = messages
    }

    static func connect(to address: SocketAddress, uri: String) async throws -> StreamTestSocket {
        let messages = TestAsyncQueue<StreamTestMessage>()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let upgraded = loop.makePromise(of: Void.self)
        let connect = ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        StreamTestHandshake(uri: uri, upgraded: upgraded),
                        ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)),
                        WebSocketFrameEncoder(),
                        StreamTestFrameCollector(messages: messages),
                    ])
                }
            }
            .connect(to: address)
        let channel = try await awaitWithTimeout(connect, timeout: streamTestTimeout, "connecting")
        do {
            try await awaitWithTimeout(upgraded.futureResult, timeout: streamTestTimeout, "the upgrade of \(uri)")
        } catch {
            try? await channel.close()
            throw error
        }
        return StreamTestSocket(channel: channel, messages: messages)
    }

    func send(_ frame: WebSocketFrame) {
        var frame = frame
        frame.maskKey = .random()
        self.channel.writeAndFlush(frame, promise: nil)
    }

    func send(text: String) {
        self.send(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
    }

    func send(bytes: [UInt8], opcode: WebSocketOpcode = .binary) {
        self.send(WebSocketFrame(fin: true, opcode: opcode, data: ByteBuffer(bytes: bytes)))
    }

    func sendClose() {
        var data = ByteBuffer()
        data.write(webSocketErrorCode: .normalClosure)
        self.send(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
    }

    func next() async throws -> StreamTestMessage {
        try await self.messages.next(timeout: streamTestTimeout, "a WebSocket frame")
    }

    func nextText() async throws -> String {
        let message = try await self.next()
        guard case .text(let text) = message else { throw TestClientError.unexpected("expected a text frame, got \(message)") }
        return text
    }

    func nextJSON() async throws -> JSONValue {
        try JSONValue.parse(try await self.nextText())
    }

    func nextClose() async throws -> StreamTestClose? {
        let message = try await self.next()
        guard case .close(let code, let reason) = message else { throw TestClientError.unexpected("expected a close frame, got \(message)") }
        return StreamTestClose(code: code, reason: reason)
    }

    /// Sends `subscribe` and checks the answer is `subscribed`.
    func subscribe(_ text: String) async throws {
        self.send(text: text)
        let answer = try await self.nextJSON()
        guard answer["type"] == "subscribed" else { throw TestClientError.unexpected("\(answer)") }
    }

    func waitForClose() async throws {
        try await awaitWithTimeout(self.channel.closeFuture, timeout: streamTestTimeout, "the WebSocket to close")
    }

    func close() async {
        try? await self.channel.close()
    }
}

/// A complete plain HTTP response.
private struct StreamTestHTTPResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer

    var status: HTTPResponseStatus { self.head.status }
    var headers: HTTPHeaders { self.head.headers }
    var text: String { String(buffer: self.body) }

    /// Sends one request on a fresh connection and returns the response.
    static func request(_ method: HTTPMethod, _ uri: String, to address: SocketAddress) async throws -> StreamTestHTTPResponse {
        let responses = TestAsyncQueue<StreamTestHTTPResponse>()
        let connect = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Collector(responses: responses))
                }
            }
            .connect(to: address)
        let channel = try await awaitWithTimeout(connect, timeout: streamTestTimeout, "connecting")
        var headers: HTTPHeaders = ["Host": "localhost"]
        if method == .POST { headers.add(name: "Content-Length", value: "0") }
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)),
                      promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { channel.close(promise: nil) }
        return try await responses.next(timeout: streamTestTimeout, "an HTTP response")
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        private let responses: TestAsyncQueue<StreamTestHTTPResponse>
        private var head: HTTPResponseHead?
        private var body = ByteBuffer()

        init(responses: TestAsyncQueue<StreamTestHTTPResponse>) {
            self.responses = responses
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body(var chunk): self.body.writeBuffer(&chunk)
            case .end:
                if let head = self.head { self.responses.push(StreamTestHTTPResponse(head: head, body: self.body)) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.responses.finish()
            context.fireChannelInactive()
        }
    }
}

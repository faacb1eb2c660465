import EngineIO
import Foundation
@testable import Hub
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SocketIO
import TestSupport
import Testing

/// The HTTP API end to end: a real ``HTTPServer`` on 127.0.0.1 serving `hub.endpoints`, driven by a
/// minimal HTTP/1.1 client over loopback (one connection per request). Every wait is bounded only to
/// turn a hang into a failure; nothing asserts on timing.
@Suite struct HubAPIEndpointTests {
    // MARK: - /healthz and routing

    @Test func healthNeedsNoToken() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let response = try await fixture.request(.GET, "/healthz")
        #expect(response.status == .ok)
        #expect(response.headers["Content-Type"] == ["application/json"])
        #expect(response.text == #"{"status":"ok"}"#)
    }

    @Test func healthHasAnAlias() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let response = try await fixture.request(.GET, "/health")
        #expect(response.status == .ok)
        #expect(response.text == #"{"status":"ok"}"#)
    }

    @Test func corsOnEveryAnswerAndPreflights() async throws {
        let fixture = try await APITestFixture.start { $0.corsOrigins = ["http://dashboard.test"] }
        defer { fixture.stop() }
        let origin = [("Origin", "http://dashboard.test")]
        let preflight = try await fixture.request(.OPTIONS, "/api/websocket/status",
                                                  headers: origin + [("Access-Control-Request-Method", "GET")])
        #expect(preflight.status == .noContent)
        #expect(preflight.headers["Access-Control-Allow-Origin"] == ["http://dashboard.test"])
        #expect(preflight.headers["Access-Control-Allow-Methods"] == ["GET, OPTIONS"])
        #expect(preflight.headers["Access-Control-Allow-Headers"] == ["Authorization, Content-Type"])
        #expect(preflight.headers["Access-Control-Allow-Credentials"] == ["true"])
        #expect(preflight.headers["Access-Control-Max-Age"] == ["600"])
        let status = try await fixture.request(.GET, "/api/websocket/status", token: fixture.token(roles: [.monitor]), headers: origin)
        #expect(status.status == .ok)
        #expect(status.headers["Access-Control-Allow-Origin"] == ["http://dashboard.test"])
        let unauthorized = try await fixture.request(.GET, "/api/websocket/status", headers: origin)
        #expect(unauthorized.status == .unauthorized)
        #expect(unauthorized.headers["Access-Control-Allow-Origin"] == ["http://dashboard.test"], "a browser can read the 401")
        let other = try await fixture.request(.OPTIONS, "/api/broadcast", headers: [("Origin", "http://evil.test")])
        #expect(other.status == .noContent)
        #expect(other.headers["Access-Control-Allow-Origin"].isEmpty)
        #expect(other.headers["Allow"] == ["POST, OPTIONS"])
    }

    @Test func noCORSHeadersWithoutAllowedOrigins() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let response = try await fixture.request(.GET, "/healthz", headers: [("Origin", "http://dashboard.test")])
        #expect(response.headers["Access-Control-Allow-Origin"].isEmpty)
    }

    @Test func unknownAPIRoutesAre404BeforeAuthentication() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        for uri in ["/api/nope", "/api", "/api/v2/websocket/status", "/api/broadcast/extra"] {
            let anonymous = try await fixture.request(.GET, uri)
            #expect(anonymous.status == .notFound, "\(uri)")
            #expect(try anonymous.json() == ["error": "not found", "message": "no such API route"], "\(uri)")
        }
        let admin = try await fixture.request(.GET, "/api/nope", token: fixture.token(roles: [.admin]))
        #expect(admin.status == .notFound)
    }

    @Test func wrongMethodsAre405WithAllow() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let cases: [(HTTPMethod, String, String)] = [
            (.GET, "/api/broadcast", "POST"), (.PUT, "/api/alerts", "POST"), (.DELETE, "/api/websocket/status", "GET"),
            (.POST, "/api/v1/websocket/status", "GET"), (.POST, "/api/history", "GET"), (.POST, "/healthz", "GET"),
            (.POST, "/metrics", "GET"),
        ]
        for (method, uri, allowed) in cases {
            let response = try await fixture.request(method, uri, token: fixture.token(roles: [.admin]))
            #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
            #expect(response.headers["Allow"] == [allowed], "\(method) \(uri)")
            let body = try response.json()
            #expect(body["error"] == "method not allowed")
            #expect(body["message"] == .string("\(method.rawValue) is not allowed here (allowed: \(allowed))"))
        }
    }

    @Test func matchesOnlyItsOwnPaths() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let endpoint = HubAPIEndpoint(hub: fixture.hub)
        for path in ["/api", "/api/", "/api/broadcast", "/api/anything/else", "/healthz", "/metrics"] {
            #expect(endpoint.matches(path: path), "\(path)")
        }
        for path in ["/", "/socket.io/", "/stream", "/apis", "/healthz/x", "/metricsx", "/favicon.ico"] {
            #expect(!endpoint.matches(path: path), "\(path)")
        }
        #expect(endpoint.maxRequestBodySize == fixture.hub.configuration.maxHttpBufferSize)

        // An Engine.IO endpoint mounted under /api/ keeps its path.
        let nested = try await APITestFixture.start { $0.path = "/api/socket.io/" }
        defer { nested.stop() }
        #expect(!HubAPIEndpoint(hub: nested.hub).matches(path: "/api/socket.io/"))
        #expect(HubAPIEndpoint(hub: nested.hub).matches(path: "/api/broadcast"))
        let handshake = try await nested.request(.GET, "/api/socket.io/?EIO=4&transport=polling")
        #expect(handshake.status == .ok)
        #expect(handshake.text.hasPrefix(#"0{"sid":"#))
    }

    // MARK: - Authentication

    @Test func missingGarbageAndExpiredTokensAre401() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let garbage = "garbage-token-that-must-not-be-echoed"
        let expired = fixture.hub.authenticator.issueToken(subject: "old", roles: [.admin], expiresIn: -60)!
        let wrongKey = TokenAuthenticator(jwtSecret: String(repeating: "k", count: 40), staticTokens: [])
            .issueToken(subject: "mallory", roles: [.admin])!
        let cases: [(token: String?, scheme: String, reason: String)] = [
            (nil, "Bearer", "missing token"),
            (garbage, "Bearer", "malformed token"),
            (expired, "Bearer", "token expired"),
            (wrongKey, "Bearer", "invalid signature"),
            (fixture.token(roles: [.admin]), "Basic", "missing token"),
        ]
        for route in [("GET", "/api/websocket/status"), ("POST", "/api/broadcast"), ("POST", "/api/alerts"), ("GET", "/api/history?room=r")] {
            for (token, scheme, reason) in cases {
                var headers: [(String, String)] = []
                if let token { headers.append(("Authorization", "\(scheme) \(token)")) }
                let response = try await fixture.request(HTTPMethod(rawValue: route.0), route.1, headers: headers,
                                                          body: route.0 == "POST" ? "{}" : nil)
                #expect(response.status == .unauthorized, "\(route) \(reason)")
                #expect(try response.json() == ["error": "unauthorized", "message": .string(reason)], "\(route) \(reason)")
                let challenge = response.headers["WWW-Authenticate"].first ?? ""
                #expect(challenge.hasPrefix("Bearer realm=\"hub\""), "\(route) \(reason)")
                #expect(challenge.contains("invalid_token") == (reason != "missing token"), "\(route) \(reason)")
                if let token {
                    #expect(!response.text.contains(token))
                    #expect(!response.headers.map { $0.value }.joined().contains(token))
                }
            }
        }
    }

    @Test func wrongRolesAre403() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        for roles: Set<Role> in [[.user], [.service], []] {
            let status = try await fixture.request(.GET, "/api/websocket/status", token: fixture.token(roles: roles))
            #expect(status.status == .forbidden, "\(roles)")
            #expect(try status.json() == ["error": "forbidden", "message": "role admin or monitor required"])
        }
        for roles: Set<Role> in [[.monitor], [.admin]] {
            let status = try await fixture.request(.GET, "/api/websocket/status", token: fixture.token(roles: roles))
            #expect(status.status == .ok, "\(roles): monitors read the status")
        }
        for roles: Set<Role> in [[.user], [.monitor, .user]] {
            let user = fixture.token(roles: roles)
            let broadcast = try await fixture.request(.POST, "/api/broadcast", token: user, body: #"{"room":"r","event":"task_updated","data":{}}"#)
            #expect(broadcast.status == .forbidden)
            #expect(try broadcast.json() == ["error": "forbidden", "message": "role service or admin required"])
            let alert = try await fixture.request(.POST, "/api/alerts", token: user, body: #"{"level":"info","message":"m","source":"s"}"#)
            #expect(alert.status == .forbidden)
            let history = try await fixture.request(.GET, "/api/history?room=r", token: user)
            #expect(history.status == .forbidden)
        }
        #expect(fixture.hub.history.latestOffset(namespace: "/", room: "r") == 0)
    }

    @Test func staticTokensWork() async throws {
        let token = "static-admin-token-0123456789"
        let fixture = try await APITestFixture.start {
            $0.staticTokens = [StaticToken(token: token, user: "ops", roles: [.admin])]
        }
        defer { fixture.stop() }
        #expect(try await fixture.request(.GET, "/api/websocket/status", token: token).status == .ok)
    }

    // MARK: - Status

    @Test func statusReportsAnIdleHub() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        for path in ["/api/websocket/status", "/api/v1/websocket/status"] {
            let response = try await fixture.request(.GET, path, token: fixture.token(roles: [.admin]))
            #expect(response.status == .ok)
            #expect(response.headers["Content-Type"] == ["application/json"])
            let body = try response.json()
            #expect(body.objectValue?.keys
                == ["status", "connections", "rooms", "namespaces", "transports", "uptime_s", "events", "version", "stream", "sse"])
            #expect(body["status"] == "active")
            #expect(body["connections"] == 0)
            #expect(body["rooms"] == ["admin": 0, "chat": 0, "monitoring": 0])
            #expect(body["namespaces"]?.objectValue?.keys == ["/", "/admin", "/chat", "/monitoring"])
            #expect(body["namespaces"]?["/"] == ["sockets": 0, "rooms": ["admin": 0, "chat": 0, "monitoring": 0]])
            for name in ["/admin", "/chat", "/monitoring"] {
                #expect(body["namespaces"]?[name] == ["sockets": 0, "rooms": [:]], "\(name)")
            }
            #expect(body["transports"] == ["websocket": 0, "polling": 0])
            #expect((body["uptime_s"]?.intValue ?? -1) >= 0)
            #expect(body["events"] == ["received": 0, "sent": 0])
            #expect(body["version"] == .string(Hub.version))
            #expect(body["stream"] == ["connections": 0, "subscriptions": 0, "rooms": [:], "all_rooms": [:]]) // stream
            #expect(body["sse"] == ["connections": 0, "rooms": ["/": [:], "/admin": [:], "/chat": [:], "/monitoring": [:]]])
        }
    }

    @Test func statusCountsSocketsAndNamedRoomsOnly() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let client = try await APITestPollingClient.open(fixture)
        try await client.connect(namespace: "/chat", token: fixture.token("carol", roles: [.user]))
        try await client.joinRoom("lobby", namespace: "/chat")
        try await client.connect(namespace: "/", token: fixture.token("carol", roles: [.user]))
        try await client.joinRoom("chat", namespace: "/")

        let response = try await fixture.request(.GET, "/api/websocket/status", token: fixture.token(roles: [.admin]))
        #expect(response.status == .ok)
        let body = try response.json()
        #expect(body["connections"] == 1)
        #expect(body["transports"] == ["websocket": 0, "polling": 1])
        #expect(body["rooms"] == ["admin": 0, "chat": 1, "monitoring": 0])
        #expect(body["namespaces"]?["/"] == ["sockets": 1, "rooms": ["admin": 0, "chat": 1, "monitoring": 0]])
        #expect(body["namespaces"]?["/chat"] == ["sockets": 1, "rooms": ["lobby": 1]])
        #expect(body["namespaces"]?["/monitoring"] == ["sockets": 0, "rooms": [:]])
        try await client.close()
    }

    // MARK: - Broadcast

    @Test func broadcastsOneEvent() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let response = try await fixture.request(
            .POST, "/api/broadcast", token: fixture.token("agent-7", roles: [.service]),
            body: #"{"namespace":"/monitoring","room":"ops","event":"task_updated","data":{"z":1,"a":{"y":[1,2],"b":null}}}"#)
        #expect(response.status == .ok)
        let body = try response.json()
        #expect(body.objectValue?.keys == ["id", "delivered"])
        #expect(body["delivered"] == 0)
        let id = try #require(body["id"]?.stringValue)
        #expect(UUID(uuidString: id) != nil)

        let stored = fixture.hub.history.events(namespace: "/monitoring", room: "ops")
        #expect(stored.count == 1)
        #expect(stored.first?.id == id)
        #expect(stored.first?.type == "task_updated")
        #expect(stored.first?.source == "api:agent-7")
        #expect(stored.first?.data.jsonString == #"{"z":1,"a":{"y":[1,2],"b":null}}"#)
        #expect(fixture.hub.stats.eventsReceived == 1)
    }

    @Test func broadcastDefaultsAndRoomLists() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let admin = fixture.token(roles: [.admin])
        let rooms = try await fixture.request(.POST, "/api/broadcast", token: admin,
                                              body: #"{"rooms":["a","b","a"],"room":"c","event":"health_update","data":{}}"#)
        #expect(rooms.status == .ok)
        #expect(try rooms.json()["delivered"] == 0)
        for room in ["a", "b", "c"] {
            #expect(fixture.hub.history.events(namespace: "/", room: room).map(\.type) == ["health_update"], "\(room)")
        }
        // Room names are limited in characters (code points), as the OpenAPI schema's maxLength.
        let long = String(repeating: "é", count: 128)
        let longRoom = try await fixture.request(.POST, "/api/broadcast", token: admin,
                                                 body: #"{"room":"\#(long)","event":"health_update","data":{}}"#)
        #expect(longRoom.status == .ok)
        #expect(fixture.hub.history.latestOffset(namespace: "/", room: long) == 1)
        // No room: the whole namespace (not kept in history).
        let wide = try await fixture.request(.POST, "/api/broadcast", token: admin,
                                             body: #"{"namespace":"/admin","event":"performance_update","data":{"cpu":0.5}}"#)
        #expect(wide.status == .ok)
        #expect(try wide.json()["delivered"] == 0)
        // Events are counted, not calls: a, b, c, the long room and the namespace-wide one.
        #expect(fixture.hub.stats.eventsReceived == 5)
    }

    @Test func broadcastsABatch() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let response = try await fixture.request(.POST, "/api/broadcast", token: fixture.token(roles: [.service]), body: """
            {"events":[{"room":"ops","event":"task_started","data":{"task":1}},
                       {"namespace":"/chat","room":"lobby","event":"chat_message","data":{"message":"hi"}}]}
            """)
        #expect(response.status == .ok)
        let body = try response.json()
        #expect(body.objectValue?.keys == ["results"])
        let results = try #require(body["results"]?.arrayValue)
        #expect(results.count == 2)
        for result in results {
            #expect(result.objectValue?.keys == ["id", "delivered"])
            #expect(result["delivered"] == 0)
        }
        #expect(results[0]["id"] != results[1]["id"])
        #expect(fixture.hub.history.events(namespace: "/", room: "ops").first?.id == results[0]["id"]?.stringValue)
        #expect(fixture.hub.history.events(namespace: "/chat", room: "lobby").first?.id == results[1]["id"]?.stringValue)
    }

    @Test func broadcastDeliversToConnectedSockets() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let client = try await APITestPollingClient.open(fixture)
        try await client.connect(namespace: "/monitoring", token: fixture.token("dash", roles: [.monitor]))
        try await client.joinRoom("ops", namespace: "/monitoring")

        let response = try await fixture.request(.POST, "/api/broadcast", token: fixture.token("agent", roles: [.service]),
                                                 body: #"{"namespace":"/monitoring","room":"ops","event":"agent_started","data":{"agent":"a1","n":2}}"#)
        #expect(response.status == .ok)
        #expect(try response.json()["delivered"] == 1)
        let packet = try await client.nextPacket(startingWith: #"42/monitoring,["agent_started""#)
        #expect(packet.hasPrefix(#"42/monitoring,["agent_started",{"agent":"a1","n":2},{"id":""#))
        try await client.close()
    }

    @Test func anyValidEventNameReachesSocketsAndHistory() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let client = try await APITestPollingClient.open(fixture)
        try await client.connect(namespace: "/monitoring", token: fixture.token("dash", roles: [.monitor]))
        try await client.joinRoom("thread-7", namespace: "/monitoring")
        let response = try await fixture.request(.POST, "/api/broadcast", token: fixture.token("agent", roles: [.service]),
                                                 body: #"{"namespace":"/monitoring","room":"thread-7","event":"TOOL_CALL_START","data":{"toolCallId":"c1"}}"#)
        #expect(response.status == .ok)
        #expect(try response.json()["delivered"] == 1)
        let packet = try await client.nextPacket(startingWith: #"42/monitoring,["TOOL_CALL_START""#)
        #expect(packet.hasPrefix(#"42/monitoring,["TOOL_CALL_START",{"toolCallId":"c1"},{"id":""#))
        #expect(fixture.hub.history.events(namespace: "/monitoring", room: "thread-7").map(\.type) == ["TOOL_CALL_START"],
                "presence did not create a history")
        try await client.close()
    }

    @Test func broadcastRejectsBadRequests() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let service = fixture.token(roles: [.service])
        let cases: [(body: String, message: String)] = [
            ("", "a JSON body is required"),
            ("{nope", "invalid JSON: unexpected character at byte 1"),
            (#"{"event":"task_updated","data":{}} x"#, "invalid JSON: unexpected data after the JSON value at byte 35"),
            (#"{"event":"#, "invalid JSON: unexpected end of input"),
            ("[1,2]", "body must be a JSON object"),
            (#"{"room":"r","data":{}}"#, "event must be a string (the event name)"),
            (#"{"room":"r","event":"user_left","data":{}}"#, "event: reserved event name"),
            (#"{"room":"r","event":"connect","data":{}}"#, "event: reserved event name"),
            (#"{"room":"r","event":"","data":{}}"#, "event: event name must not be empty"),
            (#"{"room":"r","event":"a\u0000b","data":{}}"#, "event: event name contains a control character"),
            (#"{"room":"r","event":"\#(String(repeating: "e", count: 129))","data":{}}"#, "event: event name longer than 128 characters"),
            (#"{"room":"r","event":"task_updated"}"#, "data must be a JSON object"),
            (#"{"room":"r","event":"task_updated","data":[1]}"#, "data must be a JSON object"),
            (#"{"room":"r","event":"task_updated","data":"x"}"#, "data must be a JSON object"),
            (#"{"namespace":"/nope","room":"r","event":"task_updated","data":{}}"#, #"namespace: unknown namespace "/nope""#),
            (#"{"namespace":5,"room":"r","event":"task_updated","data":{}}"#, "namespace must be a string"),
            (#"{"room":7,"event":"task_updated","data":{}}"#, "room must be a string"),
            (#"{"rooms":"r","event":"task_updated","data":{}}"#, "rooms must be an array of strings"),
            (#"{"rooms":["r",1],"event":"task_updated","data":{}}"#, "rooms must be an array of strings"),
            (#"{"room":"","event":"task_updated","data":{}}"#, "room names must be 1 to 128 characters long"),
            (#"{"room":"\#(String(repeating: "r", count: 129))","event":"task_updated","data":{}}"#,
             "room names must be 1 to 128 characters long"),
            (#"{"rooms":["ok","\#(String(repeating: "é", count: 129))"],"event":"task_updated","data":{}}"#,
             "room names must be 1 to 128 characters long"),
            (#"{"events":[]}"#, "events must be a non-empty array"),
            (#"{"events":{}}"#, "events must be a non-empty array"),
            (#"{"events":[{"room":"r","event":"task_updated","data":{}}],"event":"task_updated"}"#,
             #"a batch is {"events": [...]} without other members"#),
            (#"{"room":"r","event":"task_updated","data":{},"priority":1}"#,
             #"unknown member "priority" (expected namespace, room, rooms, event, data)"#),
            (#"{"room":null,"event":"task_updated","data":{}}"#, "room must be a string"),
            (#"{"namespace":null,"room":"r","event":"task_updated","data":{}}"#, "namespace must be a string"),
            (#"{"events":[{"room":"r","event":"task_updated","data":{},"x":0}]}"#,
             #"events[0]: unknown member "x" (expected namespace, room, rooms, event, data)"#),
            (#"{"events":[{"room":"r","event":"task_updated","data":{}},{"room":"r","event":"user_joined","data":{}}]}"#,
             "events[1].event: reserved event name"),
            (#"{"events":[{"room":"r","event":"task_updated","data":{}},3]}"#, "events[1] must be a JSON object"),
        ]
        for (body, message) in cases {
            let response = try await fixture.request(.POST, "/api/broadcast", token: service, body: body)
            #expect(response.status == .badRequest, "\(body)")
            #expect(try response.json() == ["error": "bad request", "message": .string(message)], "\(body)")
        }
        // A rejected batch publishes nothing, not even its valid events.
        #expect(fixture.hub.history.latestOffset(namespace: "/", room: "r") == 0)
        #expect(fixture.hub.stats.eventsReceived == 0)
    }

    @Test func broadcastChecksRoomGrants() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let restricted = fixture.token("ops-bot", roles: [.service], rooms: ["ops"])
        let refused = [
            #"{"room":"secret","event":"task_updated","data":{}}"#,
            #"{"rooms":["ops","secret"],"event":"task_updated","data":{}}"#,
            #"{"event":"task_updated","data":{}}"#,
            #"{"events":[{"room":"ops","event":"task_updated","data":{}},{"room":"secret","event":"task_updated","data":{}}]}"#,
        ]
        for body in refused {
            let response = try await fixture.request(.POST, "/api/broadcast", token: restricted, body: body)
            #expect(response.status == .forbidden, "\(body)")
            #expect(try response.json() == ["error": "forbidden", "message": "room not granted"], "\(body)")
        }
        #expect(fixture.hub.stats.eventsReceived == 0)
        let allowed = try await fixture.request(.POST, "/api/broadcast", token: restricted, body: #"{"room":"ops","event":"task_updated","data":{}}"#)
        #expect(allowed.status == .ok)
        let wildcard = fixture.token("any-bot", roles: [.service], rooms: ["*"])
        let wide = try await fixture.request(.POST, "/api/broadcast", token: wildcard, body: #"{"event":"task_updated","data":{}}"#)
        #expect(wide.status == .ok)
    }

    // MARK: - Alerts

    @Test func raisesAlerts() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let response = try await fixture.request(
            .POST, "/api/alerts", token: fixture.token("pager", roles: [.service]),
            body: #"{"host":"node-3","level":"critical","message":"disk 91% full","source":"node-3","labels":{"b":1,"a":2}}"#)
        #expect(response.status == .ok)
        let body = try response.json()
        #expect(body.objectValue?.keys == ["id", "delivered"])
        #expect(body["delivered"] == 0)

        // The copy for the `monitoring` room of `/` is kept in history, with the body's order.
        let stored = fixture.hub.history.events(namespace: "/", room: "monitoring")
        #expect(stored.map(\.type) == ["alert_created"])
        #expect(stored.first?.source == "api:pager")
        #expect(stored.first?.data.jsonString
            == #"{"host":"node-3","level":"critical","message":"disk 91% full","source":"node-3","labels":{"b":1,"a":2}}"#)
        #expect(fixture.hub.history.events(namespace: "/", room: "admin").count == 1)

        for level in ["info", "warning", "error"] {
            let ok = try await fixture.request(.POST, "/api/alerts", token: fixture.token(roles: [.admin]),
                                               body: #"{"level":"\#(level)","message":"m","source":"s"}"#)
            #expect(ok.status == .ok, "\(level)")
        }
    }

    @Test func alertsRejectBadRequests() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let service = fixture.token(roles: [.service])
        let cases: [(body: String, message: String)] = [
            (#"{"level":"panic","message":"m","source":"s"}"#, "level must be one of info, warning, error, critical"),
            (#"{"level":"INFO","message":"m","source":"s"}"#, "level must be one of info, warning, error, critical"),
            (#"{"message":"m","source":"s"}"#, "level must be one of info, warning, error, critical"),
            (#"{"level":"info","source":"s"}"#, "message must be a non-empty string"),
            (#"{"level":"info","message":"","source":"s"}"#, "message must be a non-empty string"),
            (#"{"level":"info","message":"m"}"#, "source must be a non-empty string"),
            (#"{"level":"info","message":"m","source":3}"#, "source must be a non-empty string"),
            (#""alert""#, "body must be a JSON object"),
            ("{", "invalid JSON: unexpected end of input"),
        ]
        for (body, message) in cases {
            let response = try await fixture.request(.POST, "/api/alerts", token: service, body: body)
            #expect(response.status == .badRequest, "\(body)")
            #expect(try response.json() == ["error": "bad request", "message": .string(message)], "\(body)")
        }
        #expect(fixture.hub.stats.eventsReceived == 0)
    }

    // MARK: - History

    @Test func historyReturnsWhatWasPublished() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let service = fixture.token("agent", roles: [.service])
        var ids: [String] = []
        for index in 1...3 {
            let response = try await fixture.request(
                .POST, "/api/broadcast", token: service,
                body: #"{"namespace":"/monitoring","room":"ops","event":"progress_update","data":{"step":\#(index),"of":3}}"#)
            ids.append(try #require(try response.json()["id"]?.stringValue))
        }

        let all = try await fixture.request(.GET, "/api/history?namespace=/monitoring&room=ops", token: service)
        #expect(all.status == .ok)
        let body = try all.json()
        #expect(body.objectValue?.keys == ["namespace", "room", "latest_offset", "events"])
        #expect(body["namespace"] == "/monitoring")
        #expect(body["room"] == "ops")
        #expect(body["latest_offset"] == 3)
        let events = try #require(body["events"]?.arrayValue)
        #expect(events.map { $0["id"]?.stringValue } == ids)
        #expect(events.map { $0["offset"] } == [1, 2, 3])
        #expect(events.first?.objectValue?.keys == ["id", "type", "room", "namespace", "data", "timestamp", "source", "offset"])
        #expect(events.first?["type"] == "progress_update")
        #expect(events.first?["source"] == "api:agent")
        #expect(all.text.contains(#""data":{"step":1,"of":3}"#))

        let since = try await fixture.request(.GET, "/api/history?namespace=%2Fmonitoring&room=ops&since=1", token: service)
        #expect(try since.json()["events"]?.arrayValue?.map { $0["offset"] } == [2, 3])
        let limited = try await fixture.request(.GET, "/api/history?namespace=/monitoring&room=ops&since=0&limit=1",
                                                token: fixture.token(roles: [.admin]))
        #expect(try limited.json()["events"]?.arrayValue?.map { $0["offset"] } == [1])
        let past = try await fixture.request(.GET, "/api/history?namespace=/monitoring&room=ops&since=3", token: service)
        #expect(try past.json() == ["namespace": "/monitoring", "room": "ops", "latest_offset": 3, "events": []])

        // A namespace whose "/" is followed by a combining mark still starts with "/".
        let combining = try await fixture.request(.GET, "/api/history?namespace=%2F%E1%A4%A2&room=ops", token: service)
        #expect(try combining.json() == ["namespace": "/\u{1922}", "room": "ops", "latest_offset": 0, "events": []])

        // namespace defaults to "/", where nothing was published.
        let empty = try await fixture.request(.GET, "/api/history?room=ops", token: service)
        #expect(try empty.json() == ["namespace": "/", "room": "ops", "latest_offset": 0, "events": []])
    }

    @Test func historyFiltersByType() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let service = fixture.token("agent", roles: [.service])
        for type in ["RUN_STARTED", "TEXT_MESSAGE_CONTENT", "RUN_FINISHED", "TEXT_MESSAGE_CONTENT"] {
            let response = try await fixture.request(.POST, "/api/broadcast", token: service,
                                                     body: #"{"room":"thread-1","event":"\#(type)","data":{}}"#)
            #expect(response.status == .ok)
        }
        func types(_ query: String) async throws -> [String?] {
            let response = try await fixture.request(.GET, "/api/history?room=thread-1" + query, token: service)
            #expect(response.status == .ok)
            return try response.json()["events"]?.arrayValue?.map { $0["type"]?.stringValue } ?? []
        }
        #expect(try await types("") == ["RUN_STARTED", "TEXT_MESSAGE_CONTENT", "RUN_FINISHED", "TEXT_MESSAGE_CONTENT"])
        #expect(try await types("&type=TEXT_MESSAGE_CONTENT") == ["TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT"])
        #expect(try await types("&type=RUN_STARTED&type=RUN_FINISHED") == ["RUN_STARTED", "RUN_FINISHED"])
        #expect(try await types("&type=TEXT_MESSAGE_CONTENT&limit=1") == ["TEXT_MESSAGE_CONTENT"])
        #expect(try await types("&type=TEXT_MESSAGE_CONTENT&since=2") == ["TEXT_MESSAGE_CONTENT"])
        // KELVIN SIGN: canonically equivalent to K, but another type.
        #expect(try await types("&type=%E2%84%AA") == [])
        let bad = try await fixture.request(.GET, "/api/history?room=thread-1&type=", token: service)
        #expect(bad.status == .badRequest)
    }

    @Test func historyRejectsBadQueries() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let service = fixture.token(roles: [.service])
        let cases: [(uri: String, message: String)] = [
            ("/api/history", "room is required"),
            ("/api/history?namespace=/chat", "room is required"),
            ("/api/history?room=", "room is required"),
            ("/api/history?room=r&since=-1", "since must be a non-negative integer offset"),
            ("/api/history?room=r&since=abc", "since must be a non-negative integer offset"),
            ("/api/history?room=r&since=", "since must be a non-negative integer offset"),
            ("/api/history?room=r&since=18446744073709551615", "since must be a non-negative integer offset"),
            ("/api/history?room=r&limit=", "limit must be a positive integer"),
            ("/api/history?room=r&limit=0", "limit must be a positive integer"),
            ("/api/history?room=r&limit=x", "limit must be a positive integer"),
            ("/api/history?room=r&namespace=chat", #"namespace must start with "/""#),
            ("/api/history?room=" + String(repeating: "r", count: 129), "room names must be 1 to 128 characters long"),
        ]
        for (uri, message) in cases {
            let response = try await fixture.request(.GET, uri, token: service)
            #expect(response.status == .badRequest, "\(uri)")
            #expect(try response.json() == ["error": "bad request", "message": .string(message)], "\(uri)")
        }
        let restricted = fixture.token(roles: [.service], rooms: ["ops"])
        let refused = try await fixture.request(.GET, "/api/history?room=secret", token: restricted)
        #expect(refused.status == .forbidden)
        #expect(try refused.json() == ["error": "forbidden", "message": "room not granted"])
        #expect(try await fixture.request(.GET, "/api/history?room=ops", token: restricted).status == .ok)
    }

    // MARK: - 413

    @Test func oversizedBodiesAre413() async throws {
        let fixture = try await APITestFixture.start { $0.maxHttpBufferSize = 1024 }
        defer { fixture.stop() }
        let response = try await fixture.request(.POST, "/api/broadcast", token: fixture.token(roles: [.service]),
                                                 declaredLength: 1025)
        #expect(response.status == .payloadTooLarge)
        #expect(try response.json()["error"] == "payload too large")
        #expect(fixture.hub.stats.eventsReceived == 0)

        // A body exactly at the limit is read (and answered by the API).
        let padding = String(repeating: " ", count: 1024 - 2)
        let atLimit = try await fixture.request(.POST, "/api/broadcast", token: fixture.token(roles: [.service]),
                                                body: "{" + padding + "}")
        #expect(atLimit.status == .badRequest)
        #expect(try atLimit.json()["message"] == "event must be a string (the event name)")

        let metrics = try await fixture.request(.GET, "/metrics")
        #expect(metrics.text.contains(#"hub_http_requests_total{route="/api/broadcast",status="413"} 1"#))
        #expect(metrics.text.contains(#"hub_http_requests_total{route="/api/broadcast",status="400"} 1"#))
    }

    // MARK: - Metrics

    @Test func metricsUsePrometheusTextFormat() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        _ = try await fixture.request(.GET, "/healthz")
        _ = try await fixture.request(.GET, "/api/websocket/status")
        _ = try await fixture.request(.GET, "/api/websocket/status", token: "not-a-jwt")
        _ = try await fixture.request(.GET, "/api/websocket/status", token: fixture.token(roles: [.user]))
        _ = try await fixture.request(.GET, "/api/unknown")

        let response = try await fixture.request(.GET, "/metrics")
        #expect(response.status == .ok)
        #expect(response.headers["Content-Type"] == ["text/plain; version=0.0.4; charset=utf-8"])
        let text = response.text
        for line in [
            "# TYPE hub_connections gauge", "hub_connections 0.0",
            "# TYPE hub_connections_by_transport gauge",
            #"hub_connections_by_transport{transport="websocket"} 0.0"#,
            #"hub_connections_by_transport{transport="polling"} 0.0"#,
            "# TYPE hub_sockets gauge", #"hub_sockets{namespace="/chat"} 0.0"#, #"hub_sockets{namespace="/"} 0.0"#,
            "# TYPE hub_events_received_total counter", "hub_events_received_total 0",
            "# TYPE hub_events_sent_total counter", "hub_events_sent_total 0",
            "# TYPE hub_http_requests_total counter",
            #"hub_http_requests_total{route="/healthz",status="200"} 1"#,
            #"hub_http_requests_total{route="/api/websocket/status",status="401"} 2"#,
            #"hub_http_requests_total{route="/api/websocket/status",status="403"} 1"#,
            #"hub_http_requests_total{route="unmatched",status="404"} 1"#,
            "# TYPE hub_auth_failures_total counter",
            #"hub_auth_failures_total{reason="missing token"} 1"#,
            #"hub_auth_failures_total{reason="malformed token"} 1"#,
            #"hub_auth_failures_total{reason="role required"} 1"#,
            #"hub_auth_failures_total{reason="token expired"} 0"#,
            #"hub_auth_failures_total{reason="room not granted"} 0"#,
            "# TYPE hub_uptime_seconds gauge",
            #"hub_info{version="\#(Hub.version)"} 1.0"#,
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "missing line: \(line)")
        }
        #expect(text.contains("\nhub_uptime_seconds ") || text.hasPrefix("hub_uptime_seconds "))
        #expect(!text.contains("not-a-jwt"))
    }

    @Test func eventCountersMoveAfterAPublish() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let before = try await fixture.request(.GET, "/metrics")
        #expect(Self.value(of: "hub_events_received_total", in: before.text) == 0)

        let client = try await APITestPollingClient.open(fixture)
        try await client.connect(namespace: "/monitoring", token: fixture.token(roles: [.monitor]))
        let service = fixture.token(roles: [.service])
        for _ in 0..<2 {
            let response = try await fixture.request(.POST, "/api/broadcast", token: service,
                                                     body: #"{"namespace":"/monitoring","event":"health_update","data":{"ok":true}}"#)
            #expect(try response.json()["delivered"] == 1)
        }
        let after = try await fixture.request(.GET, "/metrics")
        #expect(Self.value(of: "hub_events_received_total", in: after.text) == 2)
        #expect(Self.value(of: "hub_events_sent_total", in: after.text) == 2)
        #expect(Self.value(of: "hub_connections", in: after.text) == 1)
        #expect(Self.value(of: #"hub_connections_by_transport{transport="polling"}"#, in: after.text) == 1)
        #expect(Self.value(of: #"hub_sockets{namespace="/monitoring"}"#, in: after.text) == 1)
        #expect(Self.value(of: #"hub_http_requests_total{route="/api/broadcast",status="200"}"#, in: after.text) == 2)

        // A second scrape does not count the same events again.
        let again = try await fixture.request(.GET, "/metrics")
        #expect(Self.value(of: "hub_events_received_total", in: again.text) == 2)
        try await client.close()
    }

    @Test func outboundCountersMirrorTheEngine() async throws {
        let fixture = try await APITestFixture.start()
        defer { fixture.stop() }
        let before = try await fixture.request(.GET, "/metrics")
        for line in [
            "# TYPE hub_transport_buffer_full_total counter", "hub_transport_buffer_full_total 0",
            "# TYPE hub_volatile_dropped_total counter", "hub_volatile_dropped_total 0",
        ] {
            #expect(before.text.split(separator: "\n").contains(Substring(line)), "missing line: \(line)")
        }

        // A polling client with no GET parked cannot take a volatile emit now: it is dropped.
        let client = try await APITestPollingClient.open(fixture)
        try await client.connect(namespace: "/monitoring", token: fixture.token(roles: [.monitor]))
        let reached = try await fixture.hub.io.of("/monitoring").volatile
            .emitCounting("health_update", arguments: [["ok": true]]).get()
        #expect(reached == 1)
        #expect(fixture.hub.io.engine.volatileDrops == 1)
        let after = try await fixture.request(.GET, "/metrics")
        #expect(Self.value(of: "hub_volatile_dropped_total", in: after.text) == 1)
        #expect(Self.value(of: "hub_transport_buffer_full_total", in: after.text) == 0)
        // A second scrape does not count the same drop again.
        let again = try await fixture.request(.GET, "/metrics")
        #expect(Self.value(of: "hub_volatile_dropped_total", in: again.text) == 1)
        try await client.close()
    }

    // MARK: - Secrets

    @Test func tokensNeverReachTheLog() async throws {
        let records = TestLogRecorder()
        let fixture = try await APITestFixture.start(logHandler: records)
        defer { fixture.stop() }
        let tokens = [fixture.token(roles: [.admin]), fixture.token(roles: [.user]), "garbage-secret-token-xyz",
                      fixture.hub.authenticator.issueToken(subject: "x", roles: [.admin], expiresIn: -5)!]
        for token in tokens {
            _ = try await fixture.request(.GET, "/api/websocket/status", token: token)
            _ = try await fixture.request(.POST, "/api/broadcast", token: token, body: #"{"room":"r","event":"task_updated","data":{}}"#)
            _ = try await fixture.request(.GET, "/api/history?room=r", token: token)
        }
        let lines = records.lines
        #expect(lines.contains { $0.contains("api request") }, "the API logs at debug level")
        for token in tokens {
            #expect(!lines.contains { $0.contains(token) })
        }
    }

    /// The value of the sample line `name value` in a Prometheus text body.
    private static func value(of sample: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }
}

// MARK: - Fixture

/// A hub with JWT auth behind a real ``HTTPServer`` on 127.0.0.1 (a free port).
private struct APITestFixture {
    /// A JWT secret long enough for ``HubConfiguration/validate()`` (at least 32 bytes).
    static let secret = "test-secret-for-the-hub-api-tests-0123456789"

    let hub: Hub
    let server: HTTPServer
    let address: SocketAddress

    static func start(logHandler: TestLogRecorder? = nil,
                      _ configure: (inout HubConfiguration) -> Void = { _ in }) async throws -> APITestFixture {
        var configuration = HubConfiguration()
        configuration.jwtSecret = Self.secret
        configuration.port = 0
        configure(&configuration)
        var logger = logHandler.map { handler in Logger(label: "hub-api-tests") { _ in handler } } ?? Logger(label: "hub-api-tests")
        logger.logLevel = logHandler == nil ? .critical : .trace
        let group = MultiThreadedEventLoopGroup.singleton
        let hub = try Hub(configuration: configuration, group: group, logger: logger)
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: hub.endpoints, group: group, logger: logger)
        let address = try await server.start()
        return APITestFixture(hub: hub, server: server, address: address)
    }

    func stop() {
        let server = self.server
        let engine = self.hub.io.engine
        Task {
            await server.stopAccepting()
            engine.closeAllSessions()
        }
    }

    func token(_ subject: String = "tester", roles: Set<Role>, rooms: Set<String>? = nil) -> String {
        self.hub.authenticator.issueToken(subject: subject, roles: roles, rooms: rooms)!
    }

    /// One request on a fresh connection. `declaredLength` sends only the head, announcing a body of
    /// that length (for the 413 check, which answers before any body is read).
    func request(_ method: HTTPMethod, _ uri: String, token: String? = nil, headers: [(String, String)] = [],
                 body: String? = nil, declaredLength: Int? = nil) async throws -> APITestResponse {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        return try await APITestResponse.request(method, uri, headers: all, body: body, declaredLength: declaredLength, to: self.address)
    }
}

// MARK: - Minimal HTTP/1.1 client

private enum APITestError: Error {
    case timedOut(String)
    case connectionClosed
    case unexpected(String)
}

/// The guard on every wait: only bounds a hang.
private let apiTestTimeout = TimeAmount.seconds(10)

/// A complete HTTP response.
private struct APITestResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer

    var status: HTTPResponseStatus { self.head.status }
    var headers: HTTPHeaders { self.head.headers }
    var text: String { String(buffer: self.body) }

    /// The body parsed with the SocketIO module's (order-keeping) JSON parser.
    func json() throws -> JSONValue {
        try JSONValue.parse(self.text)
    }

    /// Sends one request on a fresh connection and returns the response.
    static func request(_ method: HTTPMethod, _ uri: String, headers: [(String, String)], body: String?,
                        declaredLength: Int?, to address: SocketAddress) async throws -> APITestResponse {
        let result = APITestOneShot<APITestResponse>()
        let connect = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Collector(result: result))
                }
            }
            .connect(to: address)
        let channel = try await result.bound(connect, "connecting")
        defer { channel.close(promise: nil) }

        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
        head.headers.add(name: "Host", value: "localhost")
        let bytes = body.map { ByteBuffer(string: $0) }
        if let declaredLength {
            head.headers.add(name: "Content-Length", value: String(declaredLength))
            channel.writeAndFlush(HTTPClientRequestPart.head(head), promise: nil)
        } else {
            if bytes != nil || method == .POST || method == .PUT {
                head.headers.add(name: "Content-Length", value: String(bytes?.readableBytes ?? 0))
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let bytes, bytes.readableBytes > 0 {
                channel.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return try await result.value("the response to \(method) \(uri)")
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        private let result: APITestOneShot<APITestResponse>
        private var head: HTTPResponseHead?
        private var body = ByteBuffer()

        init(result: APITestOneShot<APITestResponse>) {
            self.result = result
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body(var chunk): self.body.writeBuffer(&chunk)
            case .end:
                if let head = self.head { self.result.complete(.success(APITestResponse(head: head, body: self.body))) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.result.complete(.failure(APITestError.connectionClosed))
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.result.complete(.failure(error))
            context.close(promise: nil)
        }
    }
}

/// A value that arrives once, from any thread; later completions are ignored. Reads are bounded by
/// ``apiTestTimeout``.
private final class APITestOneShot<Value: Sendable>: Sendable {
    private let loop = MultiThreadedEventLoopGroup.singleton.any()
    private let promise: EventLoopPromise<Value>
    private let completed = NIOLockedValueBox(false)

    init() {
        self.promise = self.loop.makePromise(of: Value.self)
    }

    func complete(_ result: Result<Value, any Error>) {
        let first = self.completed.withLockedValue { completed in
            defer { completed = true }
            return !completed
        }
        if first { self.promise.completeWith(result) }
    }

    func value(_ what: String) async throws -> Value {
        let timer = self.loop.scheduleTask(in: apiTestTimeout) { self.complete(.failure(APITestError.timedOut(what))) }
        defer { timer.cancel() }
        return try await self.promise.futureResult.get()
    }

    /// Waits for `future` (a connect), bounded by the same timeout.
    func bound<T: Sendable>(_ future: EventLoopFuture<T>, _ what: String) async throws -> T {
        let guarded = APITestOneShot<T>()
        future.whenComplete { guarded.complete($0.mapError { $0 }) }
        return try await guarded.value(what)
    }
}

// MARK: - Socket.IO over long-polling

/// Just enough of a Socket.IO v5 client over Engine.IO v4 long-polling (plain HTTP requests) to put
/// sockets in namespaces and rooms.
private final class APITestPollingClient: Sendable {
    private let fixture: APITestFixture
    private let sid: String
    private let pending = NIOLockedValueBox<[String]>([])
    private let nextAck = NIOLockedValueBox(0)

    private init(fixture: APITestFixture, sid: String) {
        self.fixture = fixture
        self.sid = sid
    }

    /// Opens an Engine.IO session.
    static func open(_ fixture: APITestFixture) async throws -> APITestPollingClient {
        let handshake = try await fixture.request(.GET, "/socket.io/?EIO=4&transport=polling")
        guard handshake.status == .ok, handshake.text.hasPrefix("0"),
              let sid = try JSONValue.parse(String(handshake.text.dropFirst()))["sid"]?.stringValue
        else {
            throw APITestError.unexpected("handshake: \(handshake.status) \(handshake.text)")
        }
        return APITestPollingClient(fixture: fixture, sid: sid)
    }

    private var uri: String { "/socket.io/?EIO=4&transport=polling&sid=\(self.sid)" }

    /// Sends Engine.IO packets (already encoded, joined with the record separator).
    func send(_ packets: String...) async throws {
        let response = try await self.fixture.request(.POST, self.uri, body: packets.joined(separator: "\u{1e}"))
        guard response.status == .ok else { throw APITestError.unexpected("POST: \(response.status) \(response.text)") }
    }

    /// The next Engine.IO packet starting with `prefix`; pings are answered, others skipped.
    func nextPacket(startingWith prefix: String) async throws -> String {
        for _ in 0..<20 {
            let packets = self.pending.withLockedValue { pending in
                defer { pending.removeAll() }
                return pending
            }
            var rest = packets[...]
            while let packet = rest.popFirst() {
                if packet == "2" {
                    try await self.send("3")
                } else if packet.hasPrefix(prefix) {
                    self.pending.withLockedValue { $0.insert(contentsOf: rest, at: 0) }
                    return packet
                }
            }
            let poll = try await self.fixture.request(.GET, self.uri)
            guard poll.status == .ok else { throw APITestError.unexpected("poll: \(poll.status) \(poll.text)") }
            let received = poll.text.split(separator: "\u{1e}").map(String.init)
            self.pending.withLockedValue { $0.append(contentsOf: received) }
        }
        throw APITestError.unexpected("no packet starting with \(prefix)")
    }

    /// Connects to `namespace` with `{"token": token}` and waits for the CONNECT reply.
    func connect(namespace: String, token: String) async throws {
        let prefix = namespace == "/" ? "" : "\(namespace),"
        try await self.send("40\(prefix){\"token\":\"\(token)\"}")
        let reply = try await self.nextPacket(startingWith: "4")
        guard reply.hasPrefix("40\(prefix){\"sid\"") else { throw APITestError.unexpected("connect: \(reply)") }
    }

    /// Emits `join_room` with an acknowledgement and waits for `{"ok":true}`.
    func joinRoom(_ room: String, namespace: String) async throws {
        let prefix = namespace == "/" ? "" : "\(namespace),"
        let id = self.nextAck.withLockedValue { id in
            defer { id += 1 }
            return id
        }
        try await self.send("42\(prefix)\(id)[\"join_room\",{\"room\":\"\(room)\"}]")
        let ack = try await self.nextPacket(startingWith: "43\(prefix)\(id)[")
        guard ack.hasPrefix("43\(prefix)\(id)[{\"ok\":true") else { throw APITestError.unexpected("join_room: \(ack)") }
    }

    /// Closes the session.
    func close() async throws {
        try await self.send("1")
    }
}

// MARK: - Log capture


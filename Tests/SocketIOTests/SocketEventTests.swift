import EngineIO
import NIOConcurrencyHelpers
import NIOCore
import SocketIO
import TestSupport
import Testing

/// Events and acknowledgements between a ``Socket`` and a real client: argument round trips,
/// handler order (onAny, the socket's, the namespace's), binary attachments both ways, and
/// ``Socket/emitWithAck`` with its answer, timeout and disconnection.
@Suite("Socket.IO server: events and acknowledgements")
struct SocketEventTests {
    /// JSON of every kind, nested, with escapes and non-ASCII text.
    static let mixedArguments: [JSONValue] = [
        1, -2.5, 0.1, 123_456_789_012, 1e21, "two", "ünïcødé ✓ \"quoted\" \\ \n\t end", "", true, false, nil,
        ["a": [1, 2, ["b": nil]], "empty": [:], "list": []], [], [[]], ["z": 1, "a": 2],
    ]

    @Test func eventsWithMixedJSONArgumentsRoundTrip() async throws {
        try await withSocketIOServer { server in
            let received = TestAsyncQueue<[JSONValue]>()
            server.io.onConnection { socket in
                socket.on("echo") { arguments, ack in
                    received.push(arguments)
                    socket.emit("echo", arguments: arguments)
                    ack?.send(arguments: arguments)
                }
            }
            let (client, _) = try await server.connectedClient()
            client.emit("echo", arguments: Self.mixedArguments, ackID: 5)

            #expect(try await received.next(timeout: testClientTimeout, "the event") == Self.mixedArguments)
            #expect(try await client.expectEvent("echo") == Self.mixedArguments)
            let ack = try await client.nextReceived()
            #expect(ack.packet == SocketPacket(type: .ack, namespace: "/", id: 5, data: .array(Self.mixedArguments)))
            #expect(ack.text.hasPrefix("35[1,-2.5,0.1,123456789012,1e+21,\"two\","), "\(ack.text)")
            // Object members keep their order on the way back.
            #expect(ack.text.hasSuffix(#"[],[[]],{"z":1,"a":2}]"#), "\(ack.text)")
        }
    }

    @Test func eventsAreRoutedToTheSocketOfTheirNamespace() async throws {
        try await withSocketIOServer { server in
            server.io.onConnection { socket in socket.on("where") { _, ack in ack?("/") } }
            server.io.of("/chat").onConnection { socket in socket.on("where") { _, ack in ack?("/chat") } }
            let (client, _) = try await server.connectedClient()
            _ = try await client.connectSID("/chat")
            #expect(try await client.emitWithAck("where", namespace: "/chat") == ["/chat"])
            #expect(try await client.emitWithAck("where") == ["/"])
        }
    }

    @Test func onAnyThenSocketHandlersThenNamespaceHandlersSeeEveryEvent() async throws {
        try await withSocketIOServer { server in
            let log = TestAsyncQueue<String>()
            server.io.sockets.on("greet") { socket, arguments, ack in
                log.push("namespace \(JSONValue.array(arguments).jsonString) same-socket=\(socket.connected)")
                ack?("done")
            }
            server.io.onConnection { socket in
                socket.onAny { event, arguments in log.push("any \(event) \(JSONValue.array(arguments).jsonString)") }
                socket.on("greet") { arguments, ack in log.push("socket-1 \(JSONValue.array(arguments).jsonString) ack=\(ack != nil)") }
                socket.on("greet") { _, _ in log.push("socket-2") }
            }
            let (client, _) = try await server.connectedClient()
            #expect(try await client.emitWithAck("greet", "hi", 1) == ["done"])
            client.emit("unhandled", ["k": "v"])
            client.emit("greet")
            #expect(try await log.next(8, "the handlers") == [
                #"any greet ["hi",1]"#,
                #"socket-1 ["hi",1] ack=true"#,
                "socket-2",
                #"namespace ["hi",1] same-socket=true"#,
                #"any unhandled [{"k":"v"}]"#,
                "any greet []",
                "socket-1 [] ack=false",
                "socket-2",
            ])
            #expect(try await log.next(timeout: testClientTimeout, "the namespace handler") == "namespace [] same-socket=true")
        }
    }

    @Test func anEventNoNamedHandlerTakesReachesTheUnhandledEventHandlers() async throws {
        try await withSocketIOServer { server in
            let log = TestAsyncQueue<String>()
            server.io.sockets.on("known") { _, _, ack in
                log.push("named")
                ack?("named")
            }
            server.io.sockets.onUnhandledEvent { socket, event, arguments, ack in
                log.push("unhandled \(event) \(JSONValue.array(arguments).jsonString) ack=\(ack != nil)")
                ack?(["ok": false, "error": "unknown event"])
            }
            server.io.onConnection { socket in socket.on("mine") { _, _ in log.push("socket handler") } }
            let (client, _) = try await server.connectedClient()
            #expect(try await client.emitWithAck("known") == ["named"])
            #expect(try await client.emitWithAck("no_such", ["room": "r"]) == [["ok": false, "error": "unknown event"]])
            client.emit("mine")
            client.emit("fire_and_forget", 1)
            #expect(try await log.next(4, "the handlers") == [
                "named",
                #"unhandled no_such [{"room":"r"}] ack=true"#,
                "socket handler",
                "unhandled fire_and_forget [1] ack=false",
            ])
        }
    }

    @Test func aSocketWithAnArgumentLimitGetsEventsCutToIt() async throws {
        try await withSocketIOServer { server in
            server.io.sockets.use { socket in
                if case .bool(false)? = socket.handshake.auth["meta"] { socket.eventArgumentLimit = 1 }
            }
            let plain = try await server.open()
            _ = try await plain.connect("/", auth: ["meta": false])
            let full = try await server.open()
            _ = try await full.connect("/")
            server.io.emit("news", ["title": "t"], ["id": "m1"], "offset-ish")
            #expect(try await plain.expectEvent("news") == [["title": "t"]])
            #expect(try await full.expectEvent("news") == [["title": "t"], ["id": "m1"], "offset-ish"])
            // Shorter events, acks and binary events are untouched.
            server.io.emit("short", "only")
            #expect(try await plain.expectEvent("short") == ["only"])
        }
    }

    @Test func aDynamicParentsEventHandlersRunForItsChildrenAfterTheirOwn() async throws {
        try await withSocketIOServer { server in
            let log = TestAsyncQueue<String>()
            let parent = server.io.of(matching: { $0.hasPrefix("/room-") })
            parent.on("tick") { socket, _, ack in
                log.push("parent \(socket.namespace.name)")
                ack?("ok")
            }
            parent.onConnection { socket in socket.on("tick") { _, _ in log.push("socket") } }
            let client = try await server.open()
            _ = try await client.connectSID("/room-1")
            server.io.of("/room-1").on("tick") { socket, _, _ in log.push("child \(socket.namespace.name)") }
            #expect(try await client.emitWithAck("tick", namespace: "/room-1") == ["ok"])
            #expect(try await log.next(3, "the handlers") == ["socket", "child /room-1", "parent /room-1"])
        }
    }

    // MARK: Binary

    @Test func aClientEventWithBinaryIsAcknowledgedWithBinary() async throws {
        try await withSocketIOServer { server in
            let received = TestAsyncQueue<[JSONValue]>()
            server.io.onConnection { socket in
                socket.on("upload") { arguments, ack in
                    received.push(arguments)
                    ack?("stored", .binary(ByteBuffer(bytes: [9, 8, 7])), ["thumb": .binary(ByteBuffer(bytes: [0xFF]))])
                }
            }
            let (client, _) = try await server.connectedClient()
            let arguments: [JSONValue] = ["photo", .binary(ByteBuffer(bytes: [1, 2, 3])), ["raw": .binary(ByteBuffer(bytes: []))]]
            client.emit("upload", arguments: arguments, ackID: 7)

            #expect(try await received.next(timeout: testClientTimeout, "the upload") == arguments)
            let ack = try await client.nextReceived()
            #expect(ack.packet == SocketPacket(type: .ack, namespace: "/", id: 7, data: [
                "stored", .binary(ByteBuffer(bytes: [9, 8, 7])), ["thumb": .binary(ByteBuffer(bytes: [0xFF]))],
            ]))
            #expect(ack.text == #"62-7["stored",{"_placeholder":true,"num":0},{"thumb":{"_placeholder":true,"num":1}}]"#)
            #expect(ack.attachmentCount == 2)
        }
    }

    @Test func aServerEventWithBinaryArrivesWithItsAttachments() async throws {
        try await withSocketIOServer { server in
            server.io.of("/files").onConnection { socket in
                socket.emit("file", "a.bin", .binary(ByteBuffer(bytes: [0, 1, 2, 255])))
            }
            let client = try await server.open()
            _ = try await client.connectSID("/files")
            let event = try await client.nextReceived()
            #expect(event.packet == SocketPacket(type: .event, namespace: "/files", data: [
                "file", "a.bin", .binary(ByteBuffer(bytes: [0, 1, 2, 255])),
            ]))
            #expect(event.text == #"51-/files,["file","a.bin",{"_placeholder":true,"num":0}]"#)
        }
    }

    // MARK: Server → client acknowledgements

    @Test func emitWithAckReturnsTheClientsAnswer() async throws {
        try await withSocketIOServer { server in
            let sockets = ConnectedSockets()
            sockets.track(server.io.sockets)
            let (client, sid) = try await server.connectedClient()
            let socket = try await sockets.next(sid: sid)

            let answer = Task { try await socket.emitWithAck("question", "life", 42, timeout: .seconds(30)) }
            let asked = try await client.expectEventWithAck()
            #expect(asked.name == "question")
            #expect(asked.arguments == ["life", 42])
            client.ack(asked.ackID, "answer", ["value": 42])
            #expect(try await answer.value == ["answer", ["value": 42]])

            // A binary answer, and the callback form; each emit gets its own ack id.
            let callback = TestAsyncQueue<Result<[JSONValue], AckError>>()
            socket.emitWithAck("blob", arguments: [], timeout: .seconds(30)) { callback.push($0) }
            let second = try await client.expectEventWithAck()
            #expect(second.name == "blob")
            #expect(second.ackID != asked.ackID)
            client.ack(second.ackID, .binary(ByteBuffer(bytes: [4, 2])), "tail")
            let result = try await callback.next(timeout: testClientTimeout, "the ack callback")
            #expect(result == .success([.binary(ByteBuffer(bytes: [4, 2])), "tail"]))
        }
    }

    @Test func emitWithAckTimesOutWithoutAnAnswerAndIgnoresALateOne() async throws {
        try await withSocketIOServer { server in
            let sockets = ConnectedSockets()
            sockets.track(server.io.sockets)
            server.io.onConnection { socket in socket.on("ping") { _, ack in ack?("pong") } }
            let (client, sid) = try await server.connectedClient()
            let socket = try await sockets.next(sid: sid)

            let answer = Task { try await socket.emitWithAck("slow", timeout: .milliseconds(200)) }
            let asked = try await client.expectEventWithAck()
            await #expect(throws: AckError.timeout) { try await answer.value }

            client.ack(asked.ackID, "too late")
            #expect(try await client.emitWithAck("ping") == ["pong"], "the late ack is ignored")
            #expect(try await socket.isConnected())
        }
    }

    @Test(arguments: [false, true])
    func emitWithAckFailsWhenTheClientDisconnectsFirst(dropTransport: Bool) async throws {
        try await withSocketIOServer { server in
            let sockets = ConnectedSockets()
            sockets.track(server.io.sockets)
            let (client, sid) = try await server.connectedClient()
            let socket = try await sockets.next(sid: sid)

            let answer = Task { try await socket.emitWithAck("question", timeout: .seconds(30)) }
            _ = try await client.expectEventWithAck()
            if dropTransport {
                await client.close()
            } else {
                client.sendDisconnect()
            }
            await #expect(throws: AckError.disconnected) { try await answer.value }
            // Once disconnected, asking again fails at once.
            await #expect(throws: AckError.disconnected) { try await socket.emitWithAck("again", timeout: .seconds(30)) }
        }
    }
}

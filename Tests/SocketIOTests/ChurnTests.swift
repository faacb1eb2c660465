import EngineIO
import NIOCore
import NIOHTTP1
import SocketIO
import TestSupport
import Testing

/// Connection churn leaves nothing behind: many clients connect (polling and WebSocket), join rooms,
/// emit to them and leave — cleanly (Socket.IO DISCONNECT, then the Engine.IO close) or abruptly
/// (the TCP connection dropped, a parked poll aborted) — round after round. Afterwards no Engine.IO
/// session, no connection slot, no Socket.IO socket and no room entry outlives its client, and the
/// recovery store holds exactly the sessions of the clients that dropped (kept for their
/// reconnection, as socket.io does), none of those that said goodbye.
@Suite("Connection churn")
struct ChurnTests {
    static let rounds = 10
    static let clientsPerRound = 8

    /// Whether client `index` of a round uses WebSocket, and whether it leaves abruptly.
    static func plan(_ index: Int) -> (webSocket: Bool, abrupt: Bool) {
        (index % 2 == 0, (index / 2) % 2 == 1)
    }

    @Test func nothingOutlivesItsClient() async throws {
        try await withSocketIOServer({ $0.connectionStateRecovery = ConnectionStateRecovery() }) { server in
            let namespace = server.io.sockets
            namespace.on("join") { socket, arguments, ack in
                for case .string(let room) in arguments { socket.join(room) }
                ack?(.bool(true))
            }
            namespace.on("say") { socket, arguments, _ in
                guard case .string(let room)? = arguments.first else { return }
                socket.to(room).emit("said", .string(socket.id))
            }

            var droppedPIDs: [String] = []
            var goodbyePIDs: [String] = []
            for round in 0..<Self.rounds {
                var clients: [ChurnClient] = []
                for index in 0..<Self.clientsPerRound {
                    let plan = Self.plan(index)
                    let client: ChurnClient = plan.webSocket
                        ? try await .webSocket(server.open())
                        : try await .polling(PollingSocketIOClient.open(server))
                    let pid = try await client.connect()
                    (plan.abrupt ? { droppedPIDs.append(pid) } : { goodbyePIDs.append(pid) })()
                    try await client.join(["shared", "group-\(index % 3)", "round-\(round)"])
                    clients.append(client)
                }
                // Every client is in its rooms (plus its own), on the server side.
                let sizes = try await namespace.roomSizes()
                #expect(sizes["shared"] == Self.clientsPerRound)
                #expect(sizes["round-\(round)"] == Self.clientsPerRound)
                #expect(sizes["group-0"] == 3 && sizes["group-1"] == 3 && sizes["group-2"] == 2)
                #expect(sizes.count == 5 + Self.clientsPerRound, "shared, round, three groups and one room per socket")

                for client in clients {
                    client.say("shared")
                }
                // A WebSocket client hears the others (the broadcast skips the sender).
                if case .webSocket(let first) = clients[0] {
                    let said = try await first.nextEvent(named: "said")
                    #expect(said.first?.stringValue != nil)
                }
                for (index, client) in clients.enumerated() {
                    if Self.plan(index).abrupt {
                        try await client.drop(server)
                    } else {
                        try await client.sayGoodbye()
                    }
                }
                try await waitUntil("round \(round)'s sessions to end") { server.io.engine.sessionCount == 0 }
            }

            // Nothing outlives its client.
            #expect(server.io.engine.sessionCount == 0)
            #expect(server.io.engine.sessionCountsByAddress.isEmpty, "every connection slot was given back")
            let counts = await server.io.engine.transportCounts()
            #expect(counts.values.allSatisfy { $0 == 0 })
            try await waitUntil("every socket to leave") {
                (try? await namespace.socketIDs().isEmpty) ?? false
            }
            #expect(try await namespace.roomSizes().isEmpty, "no room entry is left")

            // The recovery store keeps exactly the dropped clients' sessions.
            #expect(droppedPIDs.count == Self.rounds * Self.clientsPerRound / 2)
            for pid in droppedPIDs {
                #expect(namespace.adapter.takeSession(privateID: pid), "a dropped client's session is kept for its reconnection")
            }
            for pid in goodbyePIDs {
                #expect(!namespace.adapter.takeSession(privateID: pid), "a client that said goodbye leaves no session")
            }
        }
    }
}

/// One churning client, over WebSocket or long-polling.
enum ChurnClient {
    case webSocket(SocketIOTestClient)
    case polling(PollingSocketIOClient)

    /// Connects to "/" and returns the private id (`pid`) of the reply.
    func connect() async throws -> String {
        let reply: JSONValue
        switch self {
        case .webSocket(let client): reply = try await client.connect("/")
        case .polling(let client): reply = try await client.connect()
        }
        guard let pid = reply["pid"]?.stringValue else { throw TestClientError.unexpected("CONNECT reply without pid: \(reply)") }
        return pid
    }

    /// Joins `rooms` and waits for the acknowledgement.
    func join(_ rooms: [String]) async throws {
        switch self {
        case .webSocket(let client):
            let answer = try await client.emitWithAck("join", arguments: rooms.map(JSONValue.string))
            #expect(answer == [.bool(true)])
        case .polling(let client):
            try await client.post(#"420["join",\#(rooms.map { "\"\($0)\"" }.joined(separator: ","))]"#)
            try await client.pollUntil { $0.hasPrefix("430[true]") }
        }
    }

    func say(_ room: String) {
        switch self {
        case .webSocket(let client): client.emit("say", .string(room))
        case .polling(let client): client.postWithoutWaiting(#"42["say","\#(room)"]"#)
        }
    }

    /// Socket.IO DISCONNECT, then the Engine.IO close.
    func sayGoodbye() async throws {
        switch self {
        case .webSocket(let client):
            client.sendDisconnect()
            client.webSocket.sendClose()
            try await client.waitForClose()
        case .polling(let client):
            try await client.post("41\u{1e}1")
        }
    }

    /// Drops the connection: the TCP connection of a WebSocket, the parked GET of a polling client.
    func drop(_ server: SocketIOTestServer) async throws {
        switch self {
        case .webSocket(let client):
            await client.webSocket.close()
        case .polling(let client):
            try await client.abortParkedPoll(server)
        }
    }
}

/// A minimal Socket.IO client over Engine.IO long-polling, one request per connection.
final class PollingSocketIOClient: Sendable {
    let http: TestHTTPClient
    let sid: String

    private init(http: TestHTTPClient, sid: String) {
        self.http = http
        self.sid = sid
    }

    var uri: String { "/socket.io/?EIO=4&transport=polling&sid=\(self.sid)" }

    static func open(_ server: SocketIOTestServer) async throws -> PollingSocketIOClient {
        let http = TestHTTPClient(address: server.address, group: server.group)
        let response = try await http.get("/socket.io/?EIO=4&transport=polling")
        guard response.status == .ok, response.text.hasPrefix("0"),
              let sid = try JSONValue.parse(String(response.text.dropFirst()))["sid"]?.stringValue else {
            throw TestClientError.unexpected("polling handshake: \(response.status) \(response.text)")
        }
        return PollingSocketIOClient(http: http, sid: sid)
    }

    func post(_ payload: String) async throws {
        let response = try await self.http.post(self.uri, body: payload)
        guard response.status == .ok else { throw TestClientError.unexpected("POST \(payload): \(response.status) \(response.text)") }
    }

    func postWithoutWaiting(_ payload: String) {
        let http = self.http
        let uri = self.uri
        Task { _ = try? await http.post(uri, body: payload) }
    }

    /// Polls until a packet satisfying `match` arrives; returns it.
    @discardableResult
    func pollUntil(_ match: (String) -> Bool) async throws -> String {
        for _ in 0..<20 {
            let response = try await self.http.get(self.uri)
            guard response.status == .ok else { throw TestClientError.unexpected("GET: \(response.status) \(response.text)") }
            for packet in response.text.split(separator: "\u{1e}").map(String.init) where match(packet) {
                return packet
            }
        }
        throw TestClientError.unexpected("the expected packet did not come")
    }

    /// CONNECT to "/" and the reply's payload.
    func connect() async throws -> JSONValue {
        try await self.post("40")
        let packet = try await self.pollUntil { $0.hasPrefix("40") }
        return try JSONValue.parse(String(packet.dropFirst(2)))
    }

    /// Parks a GET (after taking what is buffered), then drops its connection, which ends the
    /// session. Another client's broadcast may answer the parked GET between the check and the drop;
    /// the session then lives on (as it would for a real client), so the drop is tried again.
    func abortParkedPoll(_ server: SocketIOTestServer) async throws {
        for _ in 0..<20 {
            guard server.io.engine.session(id: self.sid) != nil else { return }
            let connection = try await self.http.connect()
            connection.send(.GET, self.uri)
            while let session = server.io.engine.session(id: self.sid) {
                // Parked when a volatile probe can be written (nothing else answers it then).
                if try await session.eventLoop.submit({ session.sendVolatile([EncodedPacket]()) }).get() { break }
                // Answered with buffered packets instead: take the answer and ask again.
                if (try? await connection.response(timeout: .milliseconds(5))) != nil {
                    connection.send(.GET, self.uri)
                }
            }
            await connection.close()
            try? await waitUntil("the dropped poll to end the session", timeout: .milliseconds(500)) {
                server.io.engine.session(id: self.sid) == nil
            }
        }
        throw TestClientError.unexpected("the session of \(self.sid) outlived 20 dropped polls")
    }
}

/// Polls `condition` every 5 ms until it holds (throws after `timeout`).
func waitUntil(_ what: String, timeout: TimeAmount = testClientTimeout, _ condition: () async -> Bool) async throws {
    let deadline = NIODeadline.now() + timeout
    while !(await condition()) {
        guard NIODeadline.now() < deadline else { throw TestClientError.timedOut(what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

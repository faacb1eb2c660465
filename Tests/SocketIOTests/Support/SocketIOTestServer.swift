// The Socket.IO test server: a SocketIOServer configured per test, mounted on a real HTTPServer on
// 127.0.0.1 (port 0), plus clients for it (SocketIOTestClient) and small helpers to observe the
// server side.

import EngineIO
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SocketIO
import TestSupport

/// A running ``SocketIOServer`` on loopback, its event loop group, and the clients opened on it.
struct SocketIOTestServer: Sendable {
    let io: SocketIOServer
    let address: SocketAddress
    let group: EventLoopGroup
    fileprivate let clients: NIOLockedValueBox<[SocketIOTestClient]>

    /// The Engine.IO WebSocket URI, with `extraQuery` appended (`"&token=abc"`).
    func uri(extraQuery: String = "") -> String {
        "/socket.io/?EIO=4&transport=websocket" + extraQuery
    }

    /// Opens an Engine.IO session over WebSocket; no namespace connected yet.
    func open(extraQuery: String = "", headers: HTTPHeaders = [:]) async throws -> SocketIOTestClient {
        let client = try await SocketIOTestClient.open(to: self.address, uri: self.uri(extraQuery: extraQuery), headers: headers)
        self.clients.withLockedValue { $0.append(client) }
        return client
    }

    /// Opens a session and connects it to `namespace`; returns the client and its socket id.
    func connectedClient(_ namespace: String = "/", auth: JSONValue? = nil) async throws -> (client: SocketIOTestClient, sid: String) {
        let client = try await self.open()
        let sid = try await client.connectSID(namespace, auth: auth)
        return (client, sid)
    }

    /// Opens `count` sessions connected to `namespace`, one after the other.
    func connectedClients(_ count: Int, namespace: String = "/") async throws -> [(client: SocketIOTestClient, sid: String)] {
        var result: [(client: SocketIOTestClient, sid: String)] = []
        for _ in 0..<count {
            result.append(try await self.connectedClient(namespace))
        }
        return result
    }
}

/// Runs `body` against a fresh ``SocketIOServer`` (its configuration adjusted by `configure`, the
/// Engine.IO heartbeat long enough to stay out of the way unless `configure` changes it) on a
/// group of `threads` event loops, then closes every client, session and the listener.
func withSocketIOServer(
    threads: Int = 2,
    _ configure: (inout SocketIOConfiguration) -> Void = { _ in },
    _ body: (SocketIOTestServer) async throws -> Void
) async throws {
    var engine = EngineConfiguration()
    engine.pingInterval = .seconds(60)
    engine.pingTimeout = .seconds(60)
    var configuration = SocketIOConfiguration(engine: engine)
    configure(&configuration)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    let logger = Logger(label: "socket-io-tests", factory: { _ in SwiftLogNoOpLogHandler() })
    let io = SocketIOServer(configuration: configuration, group: group, logger: logger)
    let http = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: [io.engine], group: group, logger: logger)
    let clients = NIOLockedValueBox<[SocketIOTestClient]>([])
    var failure: (any Error)?
    do {
        let address = try await http.start()
        try await body(SocketIOTestServer(io: io, address: address, group: group, clients: clients))
    } catch {
        failure = error
    }
    for client in clients.withLockedValue({ $0 }) {
        await client.close()
    }
    io.engine.closeAllSessions()
    await http.stopAccepting()
    try? await group.shutdownGracefully()
    if let failure { throw failure }
}

// MARK: - Observing the server side

extension Socket {
    /// Reads the socket's rooms on its event loop.
    func currentRooms() async throws -> Set<String> {
        try await self.eventLoop.submit { self.rooms }.get()
    }

    /// Whether the socket is connected, read on its event loop.
    func isConnected() async throws -> Bool {
        try await self.eventLoop.submit { self.connected }.get()
    }
}

/// The server-side ``Socket`` of each connection, in connection order (pushed by an
/// `onConnection` handler registered with ``track(_:)``).
final class ConnectedSockets: Sendable {
    private let queue = TestAsyncQueue<Socket>()

    /// Records every socket that connects to `namespace`.
    func track(_ namespace: Namespace) {
        namespace.onConnection { socket in self.queue.push(socket) }
    }

    /// The next socket that connected.
    func next(timeout: TimeAmount = testClientTimeout) async throws -> Socket {
        try await self.queue.next(timeout: timeout, "a socket to connect")
    }

    /// The next socket that connected, which must have id `sid`.
    func next(sid: String) async throws -> Socket {
        let socket = try await self.next()
        guard socket.id == sid else { throw TestClientError.unexpected("socket \(socket.id) connected, expected \(sid)") }
        return socket
    }

    /// Whether no socket connected since the last read.
    var isEmpty: Bool { self.queue.isEmpty }
}

extension Namespace {
    /// The adapter's room sizes (one hop to each loop).
    func roomSizes() async throws -> [String: Int] {
        try await self.adapter.roomSizes().get()
    }
}

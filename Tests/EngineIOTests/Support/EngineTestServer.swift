// The Engine.IO test server: an HTTPServer + EngineServer on loopback with a recording, echoing
// delegate, plus Engine.IO-specific helpers over the clients of TestClients.swift.

import TestSupport
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import EngineIO

/// A running ``HTTPServer`` + ``EngineServer`` on its own two-thread group, plus clients for it.
struct EngineTestServer {
    let engine: EngineServer
    let delegate: RecordingEngineDelegate
    let address: SocketAddress
    let group: EventLoopGroup
    var http: TestHTTPClient { TestHTTPClient(address: self.address, group: self.group) }

    func uri(transport: String, sid: String? = nil, extra: String = "") -> String {
        var uri = "/socket.io/?EIO=4&transport=\(transport)"
        if let sid { uri += "&sid=\(sid)" }
        return uri + extra
    }

    /// Opens a polling session and returns its sid.
    func handshake() async throws -> String {
        let response = try await self.http.get(self.uri(transport: "polling"))
        try #require(response.status == .ok)
        return try #require(try openPacketJSON(response.text)["sid"] as? String)
    }

    func poll(_ sid: String) async throws -> TestHTTPResponse {
        try await self.http.get(self.uri(transport: "polling", sid: sid))
    }

    func post(_ sid: String, _ body: String) async throws -> TestHTTPResponse {
        try await self.http.post(self.uri(transport: "polling", sid: sid), body: body)
    }

    /// A WebSocket on the engine path: a new session, or with `sid` an upgrade candidate.
    func webSocket(sid: String? = nil, headers: HTTPHeaders = [:]) async throws -> TestWebSocket {
        try await TestWebSocket.connect(to: self.address, uri: self.uri(transport: "websocket", sid: sid), headers: headers, group: self.group)
    }

    /// An upgrade request the server must refuse; returns its HTTP answer.
    func refusedWebSocket(_ uri: String, headers: HTTPHeaders = [:]) async throws -> TestHTTPResponse {
        switch try await TestWebSocket.attempt(to: self.address, uri: uri, headers: headers, group: self.group) {
        case .refused(let response):
            return response
        case .upgraded(let socket):
            await socket.close()
            throw TestClientError.unexpected("the upgrade of \(uri) was accepted")
        }
    }

    /// A WebSocket for a session that cannot take it must not get anywhere: either the upgrade is
    /// refused with a 4xx, or (like engine.io) it is accepted and closed without a packet.
    func expectWebSocketTurnedAway(_ uri: String, headers: HTTPHeaders = [:],
                                   sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let outcome: TestWebSocket.Outcome
        do {
            outcome = try await TestWebSocket.attempt(to: self.address, uri: uri, headers: headers, group: self.group)
        } catch TestClientError.connectionClosed {
            return  // Accepted and closed before the client finished its side of the handshake.
        }
        switch outcome {
        case .refused(let response):
            #expect((400..<500).contains(response.status.code), "status \(response.status)", sourceLocation: sourceLocation)
        case .upgraded(let socket):
            do {
                let message = try await socket.next()
                guard case .close = message else {
                    Issue.record("a turned-away WebSocket received \(message)", sourceLocation: sourceLocation)
                    await socket.close()
                    return
                }
            } catch TestClientError.connectionClosed {
                // Closed without a close frame: turned away as well.
            }
            try await socket.waitForClose()
        }
    }

    /// Waits until a long-poll GET is parked on the session. `sendVolatile` of nothing is a probe
    /// without side effects: a polling session can take packets now exactly when a GET is parked.
    func waitUntilPollParked(_ sid: String, timeout: TimeAmount = testClientTimeout) async throws {
        let deadline = NIODeadline.now() + timeout
        while true {
            guard let session = self.engine.session(id: sid) else {
                throw TestClientError.unexpected("session \(sid) closed while waiting for its poll to park")
            }
            let parked = try await session.eventLoop.submit { session.sendVolatile([EncodedPacket]()) }.get()
            if parked { return }
            guard NIODeadline.now() < deadline else { throw TestClientError.timedOut("the poll of \(sid) to park") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Runs `body` against a fresh server (pingInterval 300 ms / pingTimeout 200 ms if `heartbeat`,
/// otherwise long enough to stay out of the way), then closes every session and connection.
func withEngineServer(
    heartbeat: Bool = false,
    _ configure: (inout EngineConfiguration) -> Void = { _ in },
    _ body: (EngineTestServer) async throws -> Void
) async throws {
    var configuration = EngineConfiguration()
    if heartbeat {
        configuration.pingInterval = .milliseconds(300)
        configuration.pingTimeout = .milliseconds(200)
    } else {
        configuration.pingInterval = .seconds(60)
        configuration.pingTimeout = .seconds(60)
    }
    configure(&configuration)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let delegate = RecordingEngineDelegate()
    let logger = Logger(label: "engine-io-tests", factory: { _ in SwiftLogNoOpLogHandler() })
    let engine = EngineServer(configuration: configuration, delegate: delegate, logger: logger)
    let http = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: [engine], group: group, logger: logger)
    var failure: (any Error)?
    do {
        let address = try await http.start()
        try await body(EngineTestServer(engine: engine, delegate: delegate, address: address, group: group))
    } catch {
        failure = error
    }
    engine.closeAllSessions()
    await http.stopAccepting()
    try? await group.shutdownGracefully()
    if let failure { throw failure }
}

/// Records sessions as they open and close, and echoes every message back.
final class RecordingEngineDelegate: EngineServerDelegate {
    private let opened = NIOLockedValueBox<[String]>([])
    private let closed = NIOLockedValueBox<[String: EventLoopPromise<EngineCloseReason>]>([:])
    private let reasons = NIOLockedValueBox<[String: EngineCloseReason]>([:])
    private let loop = MultiThreadedEventLoopGroup.singleton.any()

    func engineServer(_ server: EngineServer, didOpen session: EngineSession) {
        self.opened.withLockedValue { $0.append(session.id) }
        session.handler = EchoSessionHandler(delegate: self)
    }

    /// The sids of every session opened, in order.
    var openedSessionIDs: [String] { self.opened.withLockedValue { $0 } }

    /// Why the session closed, or `nil` if it has not (yet).
    func closeReason(of sid: String) -> EngineCloseReason? {
        self.reasons.withLockedValue { $0[sid] }
    }

    /// Waits for the session to close and returns why.
    func waitForClose(of sid: String, timeout: TimeAmount = testClientTimeout) async throws -> EngineCloseReason {
        try await awaitWithTimeout(self.promise(for: sid).futureResult, timeout: timeout, "session \(sid) to close")
    }

    fileprivate func sessionClosed(_ sid: String, reason: EngineCloseReason) {
        self.reasons.withLockedValue { $0[sid] = $0[sid] ?? reason }
        self.promise(for: sid).succeed(reason)
    }

    private func promise(for sid: String) -> EventLoopPromise<EngineCloseReason> {
        self.closed.withLockedValue { promises in
            if let promise = promises[sid] { return promise }
            let promise = self.loop.makePromise(of: EngineCloseReason.self)
            promises[sid] = promise
            return promise
        }
    }
}

/// Sends every message back to its session.
final class EchoSessionHandler: EngineSessionHandler {
    private let delegate: RecordingEngineDelegate

    init(delegate: RecordingEngineDelegate) {
        self.delegate = delegate
    }

    func engineSession(_ session: EngineSession, didReceive message: EngineMessage) {
        session.send(EngineCodec.encode(.message(message), allocator: ByteBufferAllocator()))
    }

    func engineSession(_ session: EngineSession, didCloseWith reason: EngineCloseReason) {
        self.delegate.sessionClosed(session.id, reason: reason)
    }
}

/// The JSON of an open packet ("0{...}").
func openPacketJSON(_ packet: String) throws -> [String: Any] {
    guard packet.hasPrefix("0"),
          let object = try JSONSerialization.jsonObject(with: Data(packet.utf8.dropFirst())) as? [String: Any] else {
        throw TestClientError.unexpected("not an open packet: \(packet)")
    }
    return object
}

/// Checks an Engine.IO refusal: the status and exactly `{"code":code,"message":message}`.
func expectEngineError(_ response: TestHTTPResponse, code: Int, message: String, status: HTTPResponseStatus = .badRequest,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == status, sourceLocation: sourceLocation)
    #expect(response.headers.first(name: "Content-Type") == "application/json", sourceLocation: sourceLocation)
    let json = try response.jsonObject()
    #expect(Set(json.keys) == ["code", "message"], "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(json["code"] as? Int == code, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(json["message"] as? String == message, "body: \(response.text)", sourceLocation: sourceLocation)
}

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Told about new sessions; it installs the session's ``EngineSessionHandler``.
public protocol EngineServerDelegate: AnyObject, Sendable {
    /// A session opened. Called on the session's event loop before any message is delivered.
    func engineServer(_ server: EngineServer, didOpen session: EngineSession)
}

/// An Engine.IO v4 server mounted at ``EngineConfiguration/path``: the handshake, HTTP long-polling,
/// WebSocket sessions and the polling→WebSocket upgrade, with socket.io's error table.
///
/// Sessions live on the event loop of the connection that opened them; requests for a session that
/// arrive on another loop hop to it.
public final class EngineServer: HTTPEndpoint, @unchecked Sendable {
    /// The server's settings.
    public let configuration: EngineConfiguration
    private let delegate: any EngineServerDelegate
    private let logger: Logger
    private let sessions = NIOLockedValueBox<[String: EngineSession]>([:])
    /// Slow-consumer closes and volatile drops, counted on those (rare) paths only.
    private let outboundCounts = NIOLockedValueBox<(bufferFullCloses: Int, volatileDrops: Int)>((0, 0))
    /// One WebSocket flush batch per event loop, made on the loop's first WebSocket.
    private let flushBatches = NIOLockedValueBox<[ObjectIdentifier: WebSocketFlushBatch]>([:])
    private let limiter: NIOLockedValueBox<ConnectionLimiter>
    /// Refused handshakes by reason (share it with the ``HTTPServer`` to count its refusals too).
    public let refusals: RefusalCounter

    /// Creates an engine that hands every new session to `delegate`; refused handshakes are
    /// counted in `refusals`.
    public init(configuration: EngineConfiguration, delegate: any EngineServerDelegate, logger: Logger,
                refusals: RefusalCounter = RefusalCounter()) {
        self.configuration = configuration
        self.delegate = delegate
        self.logger = logger
        self.refusals = refusals
        self.limiter = NIOLockedValueBox(ConnectionLimiter(
            maxConnections: configuration.maxConnections, maxConnectionsPerIP: configuration.maxConnectionsPerIP))
    }

    /// How many sessions are open.
    public var sessionCount: Int {
        self.sessions.withLockedValue { $0.count }
    }

    /// How many open sessions each transport carries now (one hop to each event loop).
    public func transportCounts() async -> [EngineTransportKind: Int] {
        let all = self.sessions.withLockedValue { Array($0.values) }
        var byLoop: [ObjectIdentifier: (loop: EventLoop, sessions: [EngineSession])] = [:]
        for session in all {
            byLoop[ObjectIdentifier(session.eventLoop), default: (session.eventLoop, [])].sessions.append(session)
        }
        var counts = Dictionary(uniqueKeysWithValues: EngineTransportKind.allCases.map { ($0, 0) })
        for (loop, sessions) in byLoop.values {
            let part = try? await loop.submit {
                sessions.compactMap { $0.isClosed ? nil : $0.transport }
            }.get()
            for kind in part ?? [] {
                counts[kind, default: 0] += 1
            }
        }
        return counts
    }

    /// The open session with this id.
    public func session(id: String) -> EngineSession? {
        self.sessions.withLockedValue { $0[id] }
    }

    /// Closes every session ("server shutting down") at once, dropping what is still buffered
    /// for polling clients. ``drain(until:)`` is the graceful way.
    public func closeAllSessions() {
        let all = self.sessions.withLockedValue { Array($0.values) }
        for session in all {
            session.eventLoop.execute { session.close(reason: .serverShuttingDown) }
        }
    }

    /// How many sessions open from each client address (only addresses with one or more).
    public var sessionCountsByAddress: [String: Int] {
        self.limiter.withLockedValue { $0.byAddress }
    }

    // MARK: Drain

    /// Whether ``beginDrain()`` was called: new sessions are refused with 503 "Server shutting down".
    public var isDraining: Bool {
        self.limiter.withLockedValue { $0.isDraining }
    }

    /// Starts a graceful drain: new sessions are refused (503, `{"code":8,"message":"Server shutting
    /// down"}`), WebSocket sessions are closed now (their queued frames go out before the close
    /// frame), and each polling session is closed as soon as its buffered packets are delivered: the
    /// parked GET, or the next one, is answered with the close packet. Clients see "transport close"
    /// and reconnect (elsewhere, or here after a restart). Idempotent.
    public func beginDrain() {
        self.limiter.withLockedValue { $0.isDraining = true }
        let all = self.sessions.withLockedValue { Array($0.values) }
        for session in all {
            session.eventLoop.execute { Self.drainStep(session) }
        }
    }

    /// Drains (``beginDrain()``) and waits until every session has closed or `deadline` passes;
    /// sessions still open then (a polling client that did not come back) are closed at once.
    /// Returns whether every session closed before the deadline.
    @discardableResult
    public func drain(until deadline: NIODeadline) async -> Bool {
        self.beginDrain()
        while self.sessionCount > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let graceful = self.sessionCount == 0
        if !graceful {
            self.logger.notice("drain deadline passed; closing the remaining sessions", metadata: ["sessions": "\(self.sessionCount)"])
            self.closeAllSessions()
        }
        return graceful
    }

    /// On the session's loop: closes it if a close is the next thing its client would read.
    private static func drainStep(_ session: EngineSession) {
        guard !session.isClosed else { return }
        if session.transport == .websocket || session.isIdleWithParkedPoll {
            session.close(reason: .serverShuttingDown)
        }
    }

    func unregister(_ session: EngineSession) {
        let removed = self.sessions.withLockedValue { $0.removeValue(forKey: session.id) }
        if removed != nil {
            self.limiter.withLockedValue { $0.release(session.handshake.remoteAddress?.ipAddress) }
        }
    }

    private func register(_ session: EngineSession) {
        self.sessions.withLockedValue { $0[session.id] = session }
    }

    /// How many sessions were closed because their client read too slowly: more than
    /// ``EngineConfiguration/maxBufferedBytes`` queued but not yet written (reason "transport buffer full").
    public var bufferFullCloses: Int {
        self.outboundCounts.withLockedValue { $0.bufferFullCloses }
    }

    /// How many volatile sends were dropped because the session's transport could not take them then
    /// (a WebSocket over its high-water mark, a polling session without a parked GET).
    public var volatileDrops: Int {
        self.outboundCounts.withLockedValue { $0.volatileDrops }
    }

    func countBufferFullClose() {
        self.outboundCounts.withLockedValue { $0.bufferFullCloses += 1 }
    }

    func countVolatileDrop() {
        self.outboundCounts.withLockedValue { $0.volatileDrops += 1 }
    }

    /// The flush batch of `loop` (looked up once per WebSocket, not per write).
    func flushBatch(for loop: EventLoop) -> WebSocketFlushBatch {
        self.flushBatches.withLockedValue { batches in
            if let batch = batches[ObjectIdentifier(loop)] { return batch }
            let batch = WebSocketFlushBatch(eventLoop: loop)
            batches[ObjectIdentifier(loop)] = batch
            return batch
        }
    }

    // MARK: HTTPEndpoint

    public func matches(path: String) -> Bool {
        path == self.configuration.path || path + "/" == self.configuration.path
    }

    public var maxRequestBodySize: Int { self.configuration.maxHttpBufferSize }

    public func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
        if request.head.method == .OPTIONS {
            sink.send(self.preflightResponse(for: request.head))
            return
        }
        let query = request.target.query
        if let error = self.verifyCommon(query: query) {
            sink.send(self.errorResponse(error, for: request.head))
            return
        }
        let transport = EngineTransportKind(rawValue: query["transport"] ?? "")!
        if transport == .websocket, !self.originAllowed(request.head) {
            // The upgrader refused a WebSocket from an origin outside the CORS allowlist.
            sink.send(self.errorResponse(.forbidden, for: request.head))
            return
        }
        if let sid = query["sid"] {
            guard let session = self.session(id: sid) else {
                sink.send(self.errorResponse(.sessionIDUnknown, for: request.head))
                return
            }
            guard transport == .polling else {
                // A WebSocket for a session that the upgrader refused: while draining, say why.
                if self.isDraining {
                    sink.send(self.refusalResponse(.shuttingDown, for: request.head))
                } else {
                    sink.send(self.errorResponse(.badRequest, for: request.head))
                }
                return
            }
            let method = request.head.method
            let body = request.body
            session.eventLoop.execute {
                switch method {
                case .GET:
                    session.handlePoll(sink: sink)
                    // Draining: once the buffer is delivered, the next parked GET carries the close.
                    if self.isDraining {
                        Self.drainStep(session)
                    }
                case .POST: session.handlePost(body: body, sink: sink)
                default: sink.send(self.errorResponse(.badRequest, for: request.head))
                }
            }
            return
        }
        guard request.head.method == .GET else {
            sink.send(self.errorResponse(.badHandshakeMethod, for: request.head))
            return
        }
        let address = request.remoteAddress?.ipAddress
        guard transport == .polling else {
            // transport=websocket without an Upgrade, or with one the upgrader refused: over a
            // limit (503), or not a valid upgrade (400).
            if request.head.headers.contains(name: "upgrade"), let refusal = self.limiter.withLockedValue({ $0.refusal(for: address) }) {
                self.refusals.record(refusal)
                sink.send(self.refusalResponse(refusal, for: request.head))
            } else {
                sink.send(self.errorResponse(.badRequest, for: request.head))
            }
            return
        }
        if let refusal = self.limiter.withLockedValue({ $0.acquire(address) }) {
            self.refusals.record(refusal)
            sink.send(self.refusalResponse(refusal, for: request.head))
            return
        }
        let handshake = EngineHandshake(head: request.head, query: query, remoteAddress: request.remoteAddress)
        let session = self.openSession(on: sink.eventLoop, transport: .polling, handshake: handshake)
        session.handlePoll(sink: sink)
    }

    public func requestBodyTooLarge(_ head: HTTPRequestHead) {
        guard let sid = RequestTarget(uri: head.uri).query["sid"], let session = self.session(id: sid) else { return }
        session.eventLoop.execute { session.close(reason: .payloadTooLarge) }
    }

    public func shouldUpgrade(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?> {
        let query = RequestTarget(uri: head.uri).query
        guard self.verifyCommon(query: query) == nil, query["transport"] == EngineTransportKind.websocket.rawValue,
              self.originAllowed(head) else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        guard let sid = query["sid"] else {
            // A new session: refused before the 101 when over a limit or draining (the request then
            // reaches handle(_:sink:), which answers 503 and counts it).
            let address = channel.remoteAddress?.ipAddress
            if self.limiter.withLockedValue({ $0.refusal(for: address) }) != nil {
                return channel.eventLoop.makeSucceededFuture(nil)
            }
            return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
        }
        // Like engine.io, a known session's WebSocket is accepted even if it cannot take the session
        // over (already upgraded, another upgrade pending): it is closed right after the handshake.
        guard self.configuration.allowUpgrades, !self.isDraining, self.session(id: sid) != nil else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
    }

    public func configureWebSocket(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<Void> {
        let query = RequestTarget(uri: head.uri).query
        let transport = WebSocketTransport(channel: channel, maxBufferedBytes: self.configuration.maxBufferedBytes,
                                           flushBatch: self.flushBatch(for: channel.eventLoop))
        let maxSize = self.configuration.maxHttpBufferSize
        let session: EngineSession
        let isCandidate: Bool
        if let sid = query["sid"] {
            guard let existing = self.session(id: sid) else { return channel.close() }
            session = existing
            isCandidate = true
        } else {
            if let refusal = self.limiter.withLockedValue({ $0.acquire(channel.remoteAddress?.ipAddress) }) {
                // A slot went between shouldUpgrade and now: close with 1013 "try again later".
                self.refusals.record(refusal)
                return WebSocketClose.send(code: .unknown(1013), reason: refusal.engineError?.message ?? "try again later", on: channel)
            }
            let handshake = EngineHandshake(head: head, query: query, remoteAddress: channel.remoteAddress)
            session = EngineSession(server: self, eventLoop: channel.eventLoop, transport: .websocket, handshake: handshake,
                                    configuration: self.configuration, pollingHeaders: [:])
            isCandidate = false
        }
        do {
            // Head-side of the frame encoder; sets the write-buffer water marks.
            try transport.install(in: channel)
            try channel.pipeline.syncOperations.addHandler(
                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: maxSize))
            try channel.pipeline.syncOperations.addHandler(
                EngineWebSocketHandler(session: session, transport: transport, maxMessageSize: maxSize))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        if isCandidate {
            // On the same loop, attach now: frames read right after the 101 go straight to the session.
            if session.eventLoop.inEventLoop {
                session.offerUpgradeCandidate(transport)
            } else {
                session.eventLoop.execute { session.offerUpgradeCandidate(transport) }
            }
        } else {
            session.attachInitialWebSocket(transport)
            self.start(session)
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    // MARK: Sessions

    private func openSession(on eventLoop: EventLoop, transport: EngineTransportKind, handshake: EngineHandshake) -> EngineSession {
        var headers = self.corsHeaders(for: handshake.head)
        headers.add(name: "Content-Type", value: "text/plain; charset=UTF-8")
        headers.add(name: "Cache-Control", value: "no-store")
        let id = SessionID.make()
        if let cookie = self.configuration.cookie {
            headers.add(name: "Set-Cookie", value: cookie.header(sessionID: id))
        }
        let session = EngineSession(server: self, eventLoop: eventLoop, transport: transport, handshake: handshake,
                                    configuration: self.configuration, pollingHeaders: headers, id: id)
        self.start(session)
        return session
    }

    private func start(_ session: EngineSession) {
        self.register(session)
        self.delegate.engineServer(self, didOpen: session)
        session.open()
    }

    // MARK: Verification and answers

    /// The checks every engine request passes: protocol version and transport.
    private func verifyCommon(query: QueryParameters) -> EngineError? {
        guard query["EIO"] == "4" else { return .unsupportedProtocolVersion }
        guard let name = query["transport"], let kind = EngineTransportKind(rawValue: name),
              self.configuration.transports.contains(kind) else {
            return .transportUnknown
        }
        return nil
    }

    /// Without CORS any origin may connect; with it, the allowed ones and the server's own.
    private func originAllowed(_ head: HTTPRequestHead) -> Bool {
        self.configuration.cors?.allows(head) ?? true
    }

    /// The answer to a refused request: the error's status and `{"code":…,"message":…}`, with CORS
    /// headers for `head`'s origin so a browser can read it.
    func errorResponse(_ error: EngineError, for head: HTTPRequestHead? = nil) -> HTTPServerResponse {
        var response = HTTPServerResponse.json(error.httpStatus, error.jsonBody)
        if let head {
            response.headers.add(contentsOf: self.corsHeaders(for: head))
        }
        return response
    }

    /// The answer to a handshake refused by a limit or the drain: 503 and
    /// `{"code":N,"message":"…"}` (codes 6–8 continue socket.io's table), with CORS headers.
    func refusalResponse(_ refusal: ConnectionRefusal, for head: HTTPRequestHead) -> HTTPServerResponse {
        let (code, message) = refusal.engineError ?? (3, "Bad request")
        var response = HTTPServerResponse.json(.serviceUnavailable, #"{"code":\#(code),"message":"\#(message)"}"#)
        response.headers.add(contentsOf: self.corsHeaders(for: head))
        return response
    }

    /// CORS headers for a request, if CORS is configured and the origin is allowed.
    func corsHeaders(for head: HTTPRequestHead) -> HTTPHeaders {
        self.configuration.cors?.headers(for: head) ?? HTTPHeaders()
    }

    private func preflightResponse(for head: HTTPRequestHead) -> HTTPServerResponse {
        let headers = self.configuration.cors?.preflightHeaders(for: head, methods: "GET,POST,OPTIONS") ?? HTTPHeaders()
        return HTTPServerResponse(status: .noContent, headers: headers)
    }
}

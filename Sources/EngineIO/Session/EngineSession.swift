import NIOCore
import NIOHTTP1

/// Why a session ended; the strings are socket.io's disconnect reasons.
public enum EngineCloseReason: String, Sendable, Hashable {
    /// The client closed the connection or sent a close packet.
    case transportClose = "transport close"
    /// The connection failed (a long-poll aborted, a socket error).
    case transportError = "transport error"
    /// No pong within pingTimeout.
    case pingTimeout = "ping timeout"
    /// The client sent something that is not a packet.
    case parseError = "parse error"
    /// The server closed the session.
    case forcedClose = "forced close"
    /// The server is shutting down.
    case serverShuttingDown = "server shutting down"
    /// The client read too slowly and its outbound buffer passed ``EngineConfiguration/maxBufferedBytes``.
    case bufferFull = "transport buffer full"
    /// A request body or message passed ``EngineConfiguration/maxHttpBufferSize``.
    case payloadTooLarge = "payload too large"

    /// Whether the client asked for the close (a parked poll is then released with a noop, not a
    /// close packet).
    var isClientInitiated: Bool { self == .transportClose }
}

/// What the layer above (Socket.IO) is told about a session. Called on the session's event loop.
public protocol EngineSessionHandler: AnyObject {
    /// A message arrived.
    func engineSession(_ session: EngineSession, didReceive message: EngineMessage)
    /// The session ended; nothing more will be delivered.
    func engineSession(_ session: EngineSession, didCloseWith reason: EngineCloseReason)
}

/// What the client sent when it opened the session.
public struct EngineHandshake: Sendable {
    /// The request line and headers of the opening request.
    public var head: HTTPRequestHead
    /// Its query parameters.
    public var query: QueryParameters
    /// The client's address.
    public var remoteAddress: SocketAddress?
}

/// One Engine.IO session. It belongs to one event loop and all of its state is touched there only;
/// requests and frames arriving on other loops hop to it. Packets to send are already encoded
/// (``EncodedPacket``), so one encoding serves every target of a broadcast.
public final class EngineSession: @unchecked Sendable {
    /// The session id (`sid`).
    public let id: String
    /// The loop that owns the session.
    public let eventLoop: EventLoop
    /// The opening request.
    public let handshake: EngineHandshake
    /// Receives messages and the close; set by the server's delegate when the session opens.
    public var handler: EngineSessionHandler?

    private unowned let server: EngineServer
    private let configuration: EngineConfiguration
    private var state: EngineSessionStateMachine
    private var polling: PollingTransport?
    private var webSocket: WebSocketTransport?
    private var candidate: WebSocketTransport?
    /// Whether ``webSocket`` lives on this session's loop (writes go inline, not through a hop).
    private var webSocketIsLocal = false
    private var buffer: [EncodedPacket] = []
    private var bufferedBytes = 0
    private var flushScheduled = false
    private var heartbeatTimer: Scheduled<Void>?
    private var upgradeTimer: Scheduled<Void>?

    init(server: EngineServer, eventLoop: EventLoop, transport: EngineTransportKind, handshake: EngineHandshake,
         configuration: EngineConfiguration, pollingHeaders: HTTPHeaders, id: String = SessionID.make()) {
        self.id = id
        self.server = server
        self.eventLoop = eventLoop
        self.handshake = handshake
        self.configuration = configuration
        self.state = EngineSessionStateMachine(transport: transport, now: .now(), pingInterval: configuration.pingInterval,
                                               pingTimeout: configuration.pingTimeout)
        if transport == .polling {
            self.polling = PollingTransport(allocator: ByteBufferAllocator(), responseHeaders: pollingHeaders)
        }
    }

    // MARK: Public API

    /// The transport carrying packets now, or `nil` once closed.
    public var transport: EngineTransportKind? {
        self.eventLoop.preconditionInEventLoop()
        return self.state.activeTransport
    }

    /// Whether the session has ended.
    public var isClosed: Bool {
        self.eventLoop.preconditionInEventLoop()
        return self.state.isClosed
    }

    /// Whether a long-poll GET is parked and nothing is buffered: a close packet would be the next
    /// thing the client reads (the server's drain closes the session then). On ``eventLoop``.
    var isIdleWithParkedPoll: Bool {
        self.state.activeTransport == .polling && self.polling?.parked != nil && self.buffer.isEmpty
    }

    /// Sends packets in order (a Socket.IO packet and its attachments go in one call). Must be called
    /// on ``eventLoop``.
    public func send(_ packets: some Collection<EncodedPacket>) {
        self.eventLoop.preconditionInEventLoop()
        guard !self.state.isClosed else { return }
        if let ws = self.webSocket {
            self.write(WebSocketFrameBytes.frames(of: packets, allocator: ws.channel.allocator), to: ws, volatile: false)
            return
        }
        self.buffer(packets)
    }

    /// Sends one packet. Must be called on ``eventLoop``.
    public func send(_ packet: EncodedPacket) {
        self.send(CollectionOfOne(packet))
    }

    /// Sends packets encoded once for many sessions (a broadcast): a WebSocket gets the shared frame
    /// bytes as they are, a polling session the packets in its buffer. Must be called on
    /// ``eventLoop`` (checked in debug builds only: this is the per-target path of a broadcast).
    public func send(_ prepared: PreparedPackets) {
        self.eventLoop.assertInEventLoop()
        guard !self.state.isClosed else { return }
        if let ws = self.webSocket {
            self.write(prepared.webSocketFrames, to: ws, volatile: false)
            return
        }
        self.buffer(prepared.packets)
    }

    /// Sends packets only if the transport can take them now; otherwise drops them (socket.io's
    /// `volatile`): a WebSocket over its high-water mark, a polling session without a parked GET.
    /// Returns whether they were sent (or, for a WebSocket on another event loop, handed to it). Must be called on ``eventLoop``.
    @discardableResult
    public func sendVolatile(_ packets: some Collection<EncodedPacket>) -> Bool {
        self.eventLoop.preconditionInEventLoop()
        guard !self.state.isClosed else { return false }
        if let ws = self.webSocket {
            return self.write(WebSocketFrameBytes.frames(of: packets, allocator: ws.channel.allocator), to: ws, volatile: true)
        }
        guard self.state.canWriteNow else {
            if !packets.isEmpty { self.server.countVolatileDrop() }
            return false
        }
        self.buffer(packets)
        return true
    }

    /// ``sendVolatile(_:)-(Collection<EncodedPacket>)`` for packets encoded once for many sessions.
    @discardableResult
    public func sendVolatile(_ prepared: PreparedPackets) -> Bool {
        self.eventLoop.assertInEventLoop()
        guard !self.state.isClosed else { return false }
        if let ws = self.webSocket {
            return self.write(prepared.webSocketFrames, to: ws, volatile: true)
        }
        guard self.state.canWriteNow else {
            self.server.countVolatileDrop()
            return false
        }
        self.buffer(prepared.packets)
        return true
    }

    /// Writes frame bytes to the active WebSocket: inline when it lives on this loop, else one hop.
    /// A slow consumer is closed with "transport buffer full"; a dropped volatile write is counted.
    @discardableResult
    private func write(_ frames: ByteBuffer, to ws: WebSocketTransport, volatile: Bool) -> Bool {
        if self.webSocketIsLocal {
            switch ws.write(frames, volatile: volatile) {
            case .written:
                return true
            case .dropped:
                self.server.countVolatileDrop()
                return false
            case .overflow:
                self.close(reason: .bufferFull)
                return false
            case .closed:
                return false
            }
        }
        ws.eventLoop.execute {
            switch ws.write(frames, volatile: volatile) {
            case .written, .closed:
                break
            case .dropped:
                self.server.countVolatileDrop()
            case .overflow:
                self.eventLoop.execute { self.close(reason: .bufferFull) }
            }
        }
        return true
    }

    /// Queues packets for the polling transport (or until an upgrade completes).
    private func buffer(_ packets: some Collection<EncodedPacket>) {
        for packet in packets {
            self.bufferedBytes += packet.bytes.readableBytes
            self.buffer.append(packet)
        }
        if self.bufferedBytes > self.configuration.maxBufferedBytes {
            self.close(reason: .bufferFull)
            return
        }
        self.scheduleFlush()
    }

    /// Closes the session from the server side.
    public func close() {
        if self.eventLoop.inEventLoop {
            self.close(reason: .forcedClose)
        } else {
            self.eventLoop.execute { self.close(reason: .forcedClose) }
        }
    }

    // MARK: Lifecycle

    /// Starts the heartbeat and queues the open packet.
    func open() {
        let upgrades = self.state.activeTransport == .polling ? self.configuration.upgradesFromPolling : []
        let upgradeList = upgrades.map { "\"\($0.rawValue)\"" }.joined(separator: ",")
        let pingInterval = self.configuration.pingInterval.nanoseconds / 1_000_000
        let pingTimeout = self.configuration.pingTimeout.nanoseconds / 1_000_000
        let json = #"{"sid":"\#(self.id)","upgrades":[\#(upgradeList)],"pingInterval":\#(pingInterval),"pingTimeout":\#(pingTimeout),"maxPayload":\#(self.configuration.maxHttpBufferSize)}"#
        // The open packet goes out first and is not counted against maxBufferedBytes.
        let open = EngineCodec.encode(.open(json), allocator: ByteBufferAllocator())
        if let ws = self.webSocket {
            ws.send(CollectionOfOne(open))
        } else {
            self.buffer.append(open)
        }
        self.armHeartbeat(at: self.state.firstHeartbeatDeadline)
    }

    /// Ends the session (on ``eventLoop``): releases a parked poll (noop if the client asked, close packet otherwise),
    /// closes WebSockets, unregisters, and tells the handler.
    public func close(reason: EngineCloseReason) {
        self.eventLoop.preconditionInEventLoop()
        guard let released = self.state.close() else { return }
        if reason == .bufferFull {
            self.server.countBufferFullClose()
        }
        self.heartbeatTimer?.cancel()
        self.heartbeatTimer = nil
        self.upgradeTimer?.cancel()
        self.upgradeTimer = nil
        if released.releaseParkedPoll, let polling = self.polling {
            let last = EngineCodec.encode(reason.isClientInitiated ? .noop : .close, allocator: ByteBufferAllocator())
            polling.send(self.takeBuffer(limit: self.configuration.maxPacketsPerPoll - 1) + [last])
        }
        self.buffer.removeAll()
        self.bufferedBytes = 0
        self.candidate?.close()
        self.candidate = nil
        self.webSocket?.close(code: reason == .bufferFull ? .policyViolation : .normalClosure)
        self.server.unregister(self)
        let handler = self.handler
        self.handler = nil
        handler?.engineSession(self, didCloseWith: reason)
    }

    // MARK: Inbound packets

    /// A packet from the active transport.
    func receive(_ packet: EnginePacket) {
        guard !self.state.isClosed else { return }
        switch packet {
        case .message(let message):
            self.handler?.engineSession(self, didReceive: message)
        case .pong:
            self.state.pongReceived(now: .now())
            // The timer waits for the pong deadline; the next ping may be due sooner.
            if self.configuration.pingTimeout > self.configuration.pingInterval {
                self.heartbeatTimer?.cancel()
                self.armHeartbeat(at: self.state.firstHeartbeatDeadline)
            }
        case .close:
            self.close(reason: .transportClose)
        case .noop, .ping:
            break
        case .open, .upgrade:
            self.close(reason: .parseError)
        }
    }

    /// Decoding failed on the active transport.
    func receiveInvalidPacket() {
        self.close(reason: .parseError)
    }

    // MARK: Polling

    /// A long-poll GET for this session.
    func handlePoll(sink: HTTPResponseSink) {
        if self.state.isPongOverdue(now: .now()) {
            self.close(reason: .pingTimeout)
        }
        switch self.state.pollArrived(bufferIsEmpty: self.buffer.isEmpty) {
        case .reject(let error):
            sink.send(self.server.errorResponse(error, for: self.handshake.head))
        case .rejectAndClose:
            sink.send(self.server.errorResponse(.badRequest, for: self.handshake.head))
            self.close(reason: .transportError)
        case .respondNoop:
            self.polling?.respond(sink, with: [EngineCodec.encode(.noop, allocator: ByteBufferAllocator())])
        case .respondWithBuffer:
            self.polling?.respond(sink, with: self.takeBuffer(limit: self.configuration.maxPacketsPerPoll))
        case .park:
            self.polling?.park(sink)
            sink.onCancel { [self] in
                self.eventLoop.execute { self.parkedPollCancelled(sink) }
            }
        }
    }

    private func parkedPollCancelled(_ sink: HTTPResponseSink) {
        guard let parked = self.polling?.parked, parked.isSameRequest(as: sink) else { return }
        self.polling?.dropParked()
        if self.state.parkedPollAborted() {
            self.close(reason: .transportError)
        }
    }

    /// A POST for this session: decodes its payload and delivers the packets.
    func handlePost(body: ByteBuffer?, sink: HTTPResponseSink) {
        if self.state.isPongOverdue(now: .now()) {
            self.close(reason: .pingTimeout)
        }
        if let error = self.state.postArrived() {
            sink.send(self.server.errorResponse(error, for: self.handshake.head))
            return
        }
        let packets: [EnginePacket]
        do {
            packets = try EngineCodec.decodePayload(body ?? ByteBuffer())
        } catch {
            sink.send(self.server.errorResponse(.badRequest, for: self.handshake.head))
            self.close(reason: .parseError)
            return
        }
        var okHeaders = self.server.corsHeaders(for: self.handshake.head)
        okHeaders.add(name: "Content-Type", value: "text/html")
        okHeaders.add(name: "Cache-Control", value: "no-store")
        sink.send(HTTPServerResponse(status: .ok, headers: okHeaders, body: ByteBuffer(string: "ok")))
        for packet in packets {
            self.receive(packet)
        }
    }

    private func scheduleFlush() {
        guard !self.flushScheduled, self.state.canWriteNow else { return }
        self.flushScheduled = true
        // Coalesce everything sent during this loop tick into one polling response.
        self.eventLoop.execute {
            self.flushScheduled = false
            guard self.state.canWriteNow, !self.buffer.isEmpty else { return }
            self.flushBuffer()
        }
    }

    private func flushBuffer() {
        if self.state.activeTransport == .websocket, let ws = self.webSocket {
            ws.send(self.takeBuffer(limit: .max))
        } else if let polling = self.polling, polling.parked != nil {
            self.state.parkedPollAnswered()
            polling.send(self.takeBuffer(limit: self.configuration.maxPacketsPerPoll))
        }
    }

    /// Takes up to `limit` packets from the front of the buffer.
    private func takeBuffer(limit: Int) -> [EncodedPacket] {
        guard self.buffer.count > limit else {
            let packets = self.buffer
            self.buffer.removeAll(keepingCapacity: true)
            self.bufferedBytes = 0
            return packets
        }
        let packets = Array(self.buffer.prefix(max(limit, 0)))
        self.buffer.removeFirst(packets.count)
        self.bufferedBytes -= packets.reduce(0) { $0 + $1.bytes.readableBytes }
        return packets
    }

    // MARK: WebSocket

    /// Attaches the WebSocket of a session opened with `transport=websocket`.
    func attachInitialWebSocket(_ ws: WebSocketTransport) {
        self.webSocket = ws
        self.webSocketIsLocal = ws.eventLoop === self.eventLoop
    }

    /// A WebSocket with this session's sid wants to take it over: it becomes the upgrade candidate
    /// if the session is polling and has none, and is closed otherwise.
    func offerUpgradeCandidate(_ ws: WebSocketTransport) {
        guard !self.state.isClosed, self.state.upgradeCandidateArrived() else {
            ws.close()
            return
        }
        self.candidate = ws
        self.upgradeTimer = self.eventLoop.scheduleTask(in: self.configuration.upgradeTimeout) {
            self.upgradeTimedOut()
        }
    }

    private func upgradeTimedOut() {
        self.upgradeTimer = nil
        guard self.state.hasUpgradeCandidate else { return }
        self.state.upgradeCandidateFailed()
        self.candidate?.close()
        self.candidate = nil
    }

    /// A packet from a WebSocket: the active one, or the upgrade candidate.
    func receive(_ packet: EnginePacket, from ws: WebSocketTransport) {
        if ws === self.webSocket {
            self.receive(packet)
            return
        }
        guard ws === self.candidate else { return }
        switch packet {
        case .ping("probe"):
            switch self.state.probeReceived() {
            case .answerProbe(let releaseParkedPoll):
                ws.send([EngineCodec.encode(.pong("probe"), allocator: ByteBufferAllocator())])
                if releaseParkedPoll {
                    self.polling?.send([EngineCodec.encode(.noop, allocator: ByteBufferAllocator())])
                }
            case .closeCandidate:
                self.dropCandidate()
            }
        case .upgrade:
            switch self.state.upgradeReceived() {
            case .complete(let releaseParkedPoll):
                self.upgradeTimer?.cancel()
                self.upgradeTimer = nil
                if releaseParkedPoll {
                    self.polling?.send([EngineCodec.encode(.noop, allocator: ByteBufferAllocator())])
                }
                self.webSocket = ws
                self.webSocketIsLocal = ws.eventLoop === self.eventLoop
                self.candidate = nil
                if !self.buffer.isEmpty {
                    self.flushBuffer()
                }
            case .closeCandidate:
                self.dropCandidate()
            }
        default:
            self.dropCandidate()
        }
    }

    /// Decoding failed on a WebSocket.
    func receiveInvalidPacket(from ws: WebSocketTransport) {
        if ws === self.webSocket {
            self.close(reason: .parseError)
        } else if ws === self.candidate {
            self.dropCandidate()
        }
    }

    /// A WebSocket of this session went away.
    func webSocketClosed(_ ws: WebSocketTransport) {
        if ws === self.webSocket {
            self.close(reason: .transportClose)
        } else if ws === self.candidate {
            self.candidate = nil
            self.state.upgradeCandidateFailed()
        }
    }

    private func dropCandidate() {
        self.state.upgradeCandidateFailed()
        self.candidate?.close()
        self.candidate = nil
    }

    // MARK: Heartbeat

    private func armHeartbeat(at deadline: NIODeadline) {
        self.heartbeatTimer = self.eventLoop.scheduleTask(deadline: deadline) { [self] in
            self.heartbeatFired()
        }
    }

    private func heartbeatFired() {
        guard !self.state.isClosed else { return }
        switch self.state.heartbeatTimerFired(now: .now()) {
        case .sendPing(let next):
            self.send(EngineCodec.encode(.ping(""), allocator: ByteBufferAllocator()))
            self.armHeartbeat(at: next)
        case .reschedule(let next):
            self.armHeartbeat(at: next)
        case .timeOut:
            self.close(reason: .pingTimeout)
        }
    }
}

import EngineIO
import NIOCore

/// One Engine.IO session seen from Socket.IO (socket.io's `Client`): decodes packets, multiplexes
/// them over namespaces, runs connect middlewares, and closes a connection that never joins a
/// namespace within `connectTimeout`. Lives on the session's event loop.
final class ClientConnection: EngineSessionHandler, @unchecked Sendable {
    let session: EngineSession
    let allocator = ByteBufferAllocator()
    private let registry: NamespaceRegistry
    private let recovery: ConnectionStateRecovery?
    private var decoder: SocketPacketDecoder
    private var sockets: [String: Socket] = [:]
    private var connecting: Set<String> = []
    private var connectTimer: Scheduled<Void>?

    init(session: EngineSession, registry: NamespaceRegistry, configuration: SocketIOConfiguration) {
        self.session = session
        self.registry = registry
        self.recovery = configuration.connectionStateRecovery
        self.decoder = SocketPacketDecoder(maxAttachments: configuration.maxAttachments, maxJSONDepth: configuration.maxJSONDepth)
        self.connectTimer = session.eventLoop.scheduleTask(in: configuration.connectTimeout) { [weak self] in
            guard let self, self.sockets.isEmpty else { return }
            self.session.close(reason: .forcedClose)
        }
    }

    // MARK: EngineSessionHandler

    func engineSession(_ session: EngineSession, didReceive message: EngineMessage) {
        let packet: SocketPacket?
        do {
            switch message {
            case .text(let text): packet = try self.decoder.decode(text: text)
            case .binary(let bytes): packet = try self.decoder.decode(binary: bytes)
            }
        } catch {
            // An invalid packet closes the connection, as socket.io does.
            session.close(reason: .parseError)
            return
        }
        guard let packet else { return }
        switch packet.type {
        case .connect:
            self.connect(to: packet.namespace, auth: packet.data ?? .object(JSONObject()))
        case .connectError:
            session.close(reason: .parseError)
        case .disconnect, .event, .binaryEvent, .ack, .binaryAck:
            guard let socket = self.sockets[packet.namespace] else {
                // A packet for a namespace this connection has not joined: an invalid state, which
                // socket.io answers by closing the connection.
                session.close(reason: .parseError)
                return
            }
            switch packet.type {
            case .disconnect: socket.didClose(reason: "client namespace disconnect")
            case .event, .binaryEvent: socket.handleEvent(packet)
            default: socket.handleAck(packet)
            }
        }
    }

    func engineSession(_ session: EngineSession, didCloseWith reason: EngineCloseReason) {
        self.connectTimer?.cancel()
        self.connectTimer = nil
        for socket in Array(self.sockets.values) {
            socket.didClose(reason: reason.rawValue)
        }
        self.sockets.removeAll()
    }

    // MARK: Namespaces

    private func connect(to name: String, auth: JSONValue) {
        if let existing = self.sockets[name] {
            // Connecting twice is answered like the first time, with the same socket.
            self.send(SocketPacket(type: .connect, namespace: name, data: ["sid": .string(existing.id)]))
            return
        }
        guard !self.connecting.contains(name) else { return }
        guard let namespace = self.registry.namespace(forConnecting: name) else {
            self.send(SocketPacket(type: .connectError, namespace: name, data: ConnectError(message: "Invalid namespace").payload))
            return
        }
        if self.recovery != nil, let pid = auth["pid"]?.stringValue, let offset = auth["offset"]?.stringValue,
           namespace.adapter.restoreSession(privateID: pid, offset: offset) == nil {
            self.connecting.insert(name)
            self.closeStaleSocket(privateID: pid, in: namespace) {
                self.connecting.remove(name)
                guard !self.session.isClosed else { return }
                self.admit(to: namespace, name: name, auth: auth)
            }
            return
        }
        self.admit(to: namespace, name: name, auth: auth)
    }

    /// A reconnect that presents the `pid` of a socket still connected here takes that socket over.
    /// Its client has given up on it, but this side has not noticed yet: a half-open TCP connection
    /// that only the ping timeout would find, or an upgrade cut between the probe and the upgrade
    /// packet (the client is on the WebSocket, the session still waits for polls). Without this the
    /// session is kept only after the ping timeout and the reconnect loses it. The old connection is
    /// closed as "transport close", which keeps its session, so the restore that follows finds it.
    /// The `pid` is the socket's secret, only ever sent to its own client. Runs `then` on this loop.
    private func closeStaleSocket(privateID: String, in namespace: Namespace, then body: @escaping () -> Void) {
        let this = ObjectIdentifier(self)
        let resume = NIOLoopBound(body, eventLoop: self.session.eventLoop)
        namespace.adapter.forEachSocket(options: BroadcastOptions()) { socket in
            guard socket.privateID == privateID, ObjectIdentifier(socket.connection) != this else { return }
            socket.connection.session.close(reason: .transportClose)
        }
        .hop(to: self.session.eventLoop)
        .whenComplete { _ in resume.value() }
    }

    /// Admits a CONNECT to `namespace`: restores a kept session if `auth` names one, runs the
    /// middlewares, then connects the socket.
    private func admit(to namespace: Namespace, name: String, auth: JSONValue) {
        let handshake = SocketHandshake(
            auth: auth,
            headers: self.session.handshake.head.headers,
            query: self.session.handshake.query,
            address: self.session.handshake.remoteAddress,
            url: self.session.handshake.head.uri
        )
        // Connection-state recovery: {pid, offset} in the CONNECT payload resume a kept session.
        var restored: RestoredSession? = nil
        if self.recovery != nil, let pid = auth["pid"]?.stringValue, let offset = auth["offset"]?.stringValue {
            restored = namespace.adapter.restoreSession(privateID: pid, offset: offset)
        }
        let socket = Socket(
            id: restored?.session.socketID ?? SessionID.make(), namespace: namespace, connection: self, handshake: handshake,
            privateID: self.recovery == nil ? nil : (restored?.session.privateID ?? SessionID.make()), recovered: restored != nil)
        if let restored {
            socket.userInfo = restored.session.userInfo
        }
        let middlewares = restored != nil && self.recovery?.skipMiddlewares == true ? [] : namespace.effectiveMiddlewares
        self.connecting.insert(name)
        self.runMiddlewares(middlewares[...], on: socket) { refusal in
            self.connecting.remove(name)
            guard !self.session.isClosed else { return }
            if let refusal {
                self.send(SocketPacket(type: .connectError, namespace: name, data: refusal.payload))
                return
            }
            var replay: [[EncodedPacket]] = []
            if let restored, let pid = auth["pid"]?.stringValue, let offset = auth["offset"]?.stringValue {
                // Snapshot the replay again now, in the same loop tick as the room join below: a
                // broadcast sent while middlewares ran is either in it or queued behind it. The kept
                // session is released only now, so a refused attempt can be retried; if a concurrent
                // attempt took it first, this one must not reuse the socket id.
                guard let final = namespace.adapter.restoreSession(privateID: pid, offset: offset),
                      namespace.adapter.takeSession(privateID: restored.session.privateID) else {
                    self.send(SocketPacket(type: .connectError, namespace: name,
                                           data: ConnectError(message: "session already recovered").payload))
                    return
                }
                socket.replayedThrough = final.replayedThrough
                replay = final.missedPackets
            }
            self.connectTimer?.cancel()
            self.connectTimer = nil
            self.sockets[name] = socket
            socket.didConnect(restoredRooms: restored?.session.rooms ?? [])
            var reply = JSONObject()
            reply["sid"] = .string(socket.id)
            if let pid = socket.privateID {
                reply["pid"] = .string(pid)
            }
            self.send(SocketPacket(type: .connect, namespace: name, data: .object(reply)))
            for packets in replay {
                self.session.send(packets)
            }
            for handler in namespace.effectiveConnectionHandlers {
                handler(socket)
            }
        }
    }

    /// Runs middlewares in order; synchronous ones inline, asynchronous ones in a task whose result
    /// comes back to this loop. `done` gets the refusal, or `nil` if every middleware passed.
    private func runMiddlewares(_ middlewares: ArraySlice<Namespace.AnyMiddleware>, on socket: Socket,
                                done: @escaping (ConnectError?) -> Void) {
        var index = middlewares.startIndex
        while index < middlewares.endIndex {
            switch middlewares[index] {
            case .sync(let middleware):
                do {
                    try middleware(socket)
                } catch {
                    done(Self.refusal(for: error))
                    return
                }
            case .async(let middleware):
                let rest = middlewares[(index + 1)...]
                let loop = self.session.eventLoop
                let resume = NIOLoopBound((self, done), eventLoop: loop)
                Task {
                    let refusal: ConnectError?
                    do {
                        try await middleware(socket)
                        refusal = nil
                    } catch {
                        refusal = Self.refusal(for: error)
                    }
                    loop.execute {
                        let (connection, done) = resume.value
                        if let refusal {
                            done(refusal)
                        } else {
                            connection.runMiddlewares(rest, on: socket, done: done)
                        }
                    }
                }
                return
            }
            index += 1
        }
        done(nil)
    }

    private static func refusal(for error: Error) -> ConnectError {
        (error as? ConnectError) ?? ConnectError(message: "server error")
    }

    func socketDidClose(_ socket: Socket) {
        if self.sockets[socket.namespace.name] === socket {
            self.sockets.removeValue(forKey: socket.namespace.name)
        }
    }

    private func send(_ packet: SocketPacket) {
        self.session.send(SocketPacketEncoder.encode(packet, allocator: self.allocator))
    }
}

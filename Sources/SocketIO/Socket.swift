import EngineIO
import NIOCore

/// One client's connection to one namespace, as socket.io's `Socket`.
///
/// A socket lives on the event loop of its Engine.IO session; handlers run there, and its state is
/// touched only there. Emitting from another thread is allowed and hops to that loop.
///
/// ```swift
/// io.of("/chat").onConnection { socket in
///     socket.on("message") { args, ack in
///         socket.to("lobby").emit("message", arguments: args)
///         ack?("ok")
///     }
///     socket.join("lobby")
/// }
/// ```
public final class Socket: @unchecked Sendable {
    /// Handles an event: its arguments, and the acknowledgement to answer if the client asked for one.
    public typealias EventHandler = (_ arguments: [JSONValue], _ ack: Ack?) -> Void

    /// The socket id, unique per namespace connection (sent to the client in the CONNECT reply).
    public let id: String
    /// The namespace the socket is connected to.
    public let namespace: Namespace
    /// What the client sent when it connected.
    public let handshake: SocketHandshake
    /// The loop the socket lives on.
    public let eventLoop: EventLoop
    /// Free storage for the application (the authenticated user, say). Touch it on ``eventLoop``.
    public var userInfo: [String: any Sendable] = [:]
    /// The rooms the socket is in, its own id included.
    public private(set) var rooms: Set<String> = []
    /// Whether the socket is connected.
    public private(set) var connected = false
    /// Whether this socket resumed a previous session through connection-state recovery (same id,
    /// rooms and ``userInfo``; missed broadcasts were replayed).
    public let recovered: Bool
    /// The private session id sent as `pid` in the CONNECT reply, with recovery on (the client's
    /// secret: never send it to anyone else).
    public let privateID: String?
    /// For a recovered socket: the newest broadcast offset its replay covered; live deliveries up
    /// to it that were still queued are skipped. Touched on ``eventLoop``.
    var replayedThrough: UInt64 = 0
    /// The most arguments an event sent to this socket keeps; `nil` (the default) keeps them all.
    /// For clients whose handlers take a fixed number of parameters (a python-socketio handler
    /// written `lambda data: …` raises on a second argument): broadcasts are encoded once for every
    /// target, so a socket with a limit re-encodes each event it receives with its first `limit`
    /// arguments (the recovery offset, appended last, is dropped with the rest). Events with binary
    /// attachments are sent unchanged. Set it on ``eventLoop``, in a middleware or connection handler.
    public var eventArgumentLimit: Int? = nil

    let connection: ClientConnection
    /// The connection's Engine.IO session, kept here for the delivery path (one load, not two).
    private let session: EngineSession
    private var handlers: [String: [EventHandler]] = [:]
    private var anyHandlers: [(String, [JSONValue]) -> Void] = []
    private var disconnectHandlers: [(String) -> Void] = []
    private var pendingAcks: [Int: PendingAck] = [:]
    private var nextAckID = 0

    private struct PendingAck {
        var callback: (Result<[JSONValue], AckError>) -> Void
        var timer: Scheduled<Void>?
    }

    init(id: String, namespace: Namespace, connection: ClientConnection, handshake: SocketHandshake,
         privateID: String?, recovered: Bool) {
        self.id = id
        self.namespace = namespace
        self.connection = connection
        self.session = connection.session
        self.handshake = handshake
        self.eventLoop = connection.session.eventLoop
        self.privateID = privateID
        self.recovered = recovered
    }

    /// The Engine.IO transport carrying the socket now (`polling` or `websocket`).
    public var transport: EngineTransportKind? {
        self.eventLoop.preconditionInEventLoop()
        return self.connection.session.transport
    }

    // MARK: Listeners

    /// Calls `handler` for every `event` from the client. Register on ``eventLoop`` (in the
    /// connection handler).
    public func on(_ event: String, _ handler: @escaping EventHandler) {
        self.eventLoop.preconditionInEventLoop()
        self.handlers[event, default: []].append(handler)
    }

    /// Calls `handler` for every event from the client, before the event's own handlers.
    public func onAny(_ handler: @escaping (_ event: String, _ arguments: [JSONValue]) -> Void) {
        self.eventLoop.preconditionInEventLoop()
        self.anyHandlers.append(handler)
    }

    /// Calls `handler` with the reason when the socket disconnects ("client namespace disconnect",
    /// "server namespace disconnect", "transport close", "ping timeout", …).
    public func onDisconnect(_ handler: @escaping (_ reason: String) -> Void) {
        self.eventLoop.preconditionInEventLoop()
        self.disconnectHandlers.append(handler)
    }

    // MARK: Emitting

    /// Sends `event` with `arguments` to this client.
    public func emit(_ event: String, _ arguments: JSONValue...) {
        self.emit(event, arguments: arguments)
    }

    /// Sends `event` with `arguments` to this client; if `volatile`, drops it when the transport
    /// cannot take it now.
    public func emit(_ event: String, arguments: [JSONValue], volatile: Bool = false) {
        let packet = SocketPacket(type: .event, namespace: self.namespace.name, data: .array([.string(event)] + arguments))
        self.onLoop { socket in
            guard socket.connected else { return }
            if socket.privateID != nil, !volatile {
                // With recovery on, as socket.io 4.6+: through the adapter to the socket's own room,
                // so the packet gets an offset and is replayed if the connection drops.
                socket.namespace.adapter.broadcast(packet, options: BroadcastOptions(rooms: [socket.id]))
                return
            }
            socket.deliver(SocketPacketEncoder.encode(packet, allocator: socket.connection.allocator), volatile: volatile)
        }
    }

    /// Sends `event` and calls `callback` with the client's acknowledgement, or with
    /// ``AckError/timeout`` after `timeout`, or ``AckError/disconnected``. The callback runs on
    /// ``eventLoop``.
    public func emitWithAck(_ event: String, arguments: [JSONValue], timeout: TimeAmount,
                            _ callback: @escaping @Sendable (Result<[JSONValue], AckError>) -> Void) {
        self.onLoop { socket in
            guard socket.connected else {
                callback(.failure(.disconnected))
                return
            }
            let id = socket.nextAckID
            socket.nextAckID = socket.nextAckID == Int(Int32.max) ? 0 : socket.nextAckID + 1
            let timer = socket.eventLoop.scheduleTask(in: timeout) { [weak socket] in
                guard let socket, let pending = socket.pendingAcks.removeValue(forKey: id) else { return }
                pending.callback(.failure(.timeout))
            }
            socket.pendingAcks[id] = PendingAck(callback: callback, timer: timer)
            let packet = SocketPacket(type: .event, namespace: socket.namespace.name, id: id,
                                      data: .array([.string(event)] + arguments))
            socket.deliver(SocketPacketEncoder.encode(packet, allocator: socket.connection.allocator), volatile: false)
        }
    }

    /// Sends `event` and waits for the client's acknowledgement.
    /// - Throws: ``AckError``.
    public func emitWithAck(_ event: String, _ arguments: JSONValue..., timeout: TimeAmount) async throws -> [JSONValue] {
        let promise = self.eventLoop.makePromise(of: [JSONValue].self)
        self.emitWithAck(event, arguments: arguments, timeout: timeout) { result in
            promise.completeWith(result.mapError { $0 as any Error })
        }
        return try await promise.futureResult.get()
    }

    // MARK: Rooms

    /// Joins `room`.
    public func join(_ room: String) {
        self.onLoop { socket in
            guard socket.connected, socket.rooms.insert(room).inserted else { return }
            socket.namespace.adapter.join(socket, room: room)
        }
    }

    /// Leaves `room`.
    public func leave(_ room: String) {
        self.onLoop { socket in
            guard socket.connected, room != socket.id, socket.rooms.remove(room) != nil else { return }
            socket.namespace.adapter.leave(socket, room: room)
        }
    }

    /// A broadcast to `room`'s members, this socket excepted.
    public func to(_ room: String) -> BroadcastOperator {
        self.broadcast.to(room)
    }

    /// A broadcast to every socket of the namespace but this one.
    public var broadcast: BroadcastOperator {
        BroadcastOperator(namespace: self.namespace).except(self.id)
    }

    // MARK: Disconnecting

    /// Disconnects the socket from its namespace (the client receives a DISCONNECT packet); with
    /// `close`, closes the whole Engine.IO connection too.
    public func disconnect(close: Bool = false) {
        self.onLoop { socket in
            guard socket.connected else { return }
            let packet = SocketPacket(type: .disconnect, namespace: socket.namespace.name)
            socket.deliver(SocketPacketEncoder.encode(packet, allocator: socket.connection.allocator), volatile: false)
            socket.didClose(reason: "server namespace disconnect")
            if close {
                socket.connection.session.close()
            }
        }
    }

    /// Closes the socket's whole Engine.IO connection as "transport close" (a recoverable reason:
    /// its session is kept), as if the transport had dropped. For cluster adapters: another node
    /// took this socket's session over, its client has given up on this connection.
    public func closeTransport() {
        self.onLoop { socket in
            socket.connection.session.close(reason: .transportClose)
        }
    }

    // MARK: Internal

    /// Marks the socket connected and puts it in its own room (and, when recovered, back in the rooms
    /// it had).
    func didConnect(restoredRooms: Set<String> = []) {
        self.connected = true
        self.rooms.insert(self.id)
        self.namespace.adapter.add(self)
        for room in restoredRooms where room != self.id {
            self.rooms.insert(room)
            self.namespace.adapter.join(self, room: room)
        }
    }

    /// Hands a broadcast's packets, encoded and framed once for every target, to the session (on
    /// ``eventLoop``).
    func deliver(_ packets: PreparedPackets, volatile: Bool) {
        if let limit = self.eventArgumentLimit {
            return self.deliver(Self.limitingArguments(of: packets.packets, to: limit, allocator: self.connection.allocator),
                                volatile: volatile)
        }
        if volatile {
            self.session.sendVolatile(packets)
        } else {
            self.session.send(packets)
        }
    }

    /// `packets` with every plain-text EVENT cut to its first `limit` arguments (a multi-packet
    /// binary event is returned as is).
    static func limitingArguments(of packets: [EncodedPacket], to limit: Int, allocator: ByteBufferAllocator) -> [EncodedPacket] {
        guard packets.count == 1, let packet = packets.first, packet.kind == .text,
              packet.bytes.readableBytes > 1, packet.bytes.getInteger(at: packet.bytes.readerIndex, as: UInt8.self) == UInt8(ascii: "4"),
              let text = packet.bytes.getString(at: packet.bytes.readerIndex + 1, length: packet.bytes.readableBytes - 1) else {
            return packets
        }
        var decoder = SocketPacketDecoder()
        guard var decoded = try? decoder.decode(text: text), decoded.type == .event,
              case .array(let elements)? = decoded.data, elements.count > limit + 1 else {
            return packets
        }
        decoded.data = .array(Array(elements.prefix(limit + 1)))
        return SocketPacketEncoder.encode(decoded, allocator: allocator)
    }

    /// Hands encoded packets to the session (on ``eventLoop``).
    func deliver(_ packets: [EncodedPacket], volatile: Bool) {
        if let limit = self.eventArgumentLimit {
            let limited = Self.limitingArguments(of: packets, to: limit, allocator: self.connection.allocator)
            if volatile {
                self.connection.session.sendVolatile(limited)
            } else {
                self.connection.session.send(limited)
            }
            return
        }
        if volatile {
            self.connection.session.sendVolatile(packets)
        } else {
            self.connection.session.send(packets)
        }
    }

    /// An EVENT or BINARY_EVENT for this socket.
    func handleEvent(_ packet: SocketPacket) {
        guard case .array(let array)? = packet.data, case .string(let event)? = array.first else { return }
        let arguments = Array(array.dropFirst())
        let ack = packet.id.map { Ack(socket: self, id: $0) }
        for handler in self.anyHandlers {
            handler(event, arguments)
        }
        let own = self.handlers[event] ?? []
        for handler in own {
            handler(arguments, ack)
        }
        let shared = self.namespace.handlers(for: event)
        for handler in shared {
            handler(self, arguments, ack)
        }
        if own.isEmpty && shared.isEmpty {
            for handler in self.namespace.effectiveUnhandledEventHandlers {
                handler(self, event, arguments, ack)
            }
        }
    }

    /// An ACK or BINARY_ACK for this socket.
    func handleAck(_ packet: SocketPacket) {
        guard let id = packet.id, let pending = self.pendingAcks.removeValue(forKey: id) else { return }
        pending.timer?.cancel()
        pending.callback(.success(packet.data?.arrayValue ?? []))
    }

    /// Sends the acknowledgement `id` with `arguments`.
    func sendAck(id: Int, arguments: [JSONValue]) {
        self.onLoop { socket in
            guard socket.connected else { return }
            let packet = SocketPacket(type: .ack, namespace: socket.namespace.name, id: id, data: .array(arguments))
            socket.deliver(SocketPacketEncoder.encode(packet, allocator: socket.connection.allocator), volatile: false)
        }
    }

    /// The socket is gone: leaves its rooms, fails pending acknowledgements, tells listeners.
    func didClose(reason: String) {
        guard self.connected else { return }
        for handler in self.namespace.effectiveDisconnectingHandlers {
            handler(self, reason)
        }
        self.connected = false
        if let privateID = self.privateID, Self.recoverableReasons.contains(reason) {
            self.namespace.adapter.persistSession(PersistedSession(
                socketID: self.id, privateID: privateID, rooms: self.rooms, userInfo: self.userInfo, disconnectedAt: .now()))
        }
        self.namespace.adapter.remove(self)
        self.rooms.removeAll()
        self.connection.socketDidClose(self)
        let pending = self.pendingAcks
        self.pendingAcks.removeAll()
        for (_, ack) in pending {
            ack.timer?.cancel()
            ack.callback(.failure(.disconnected))
        }
        let handlers = self.disconnectHandlers
        self.disconnectHandlers.removeAll()
        self.handlers.removeAll()
        self.anyHandlers.removeAll()
        for handler in handlers {
            handler(reason)
        }
    }

    /// Disconnect reasons after which a session is kept for recovery (socket.io's list, plus a
    /// slow consumer's "transport buffer full").
    static let recoverableReasons: Set<String> = [
        "transport error", "transport close", "forced close", "ping timeout", "server shutting down",
        "forced server close", "transport buffer full",
    ]

    private func onLoop(_ body: @escaping @Sendable (Socket) -> Void) {
        if self.eventLoop.inEventLoop {
            body(self)
        } else {
            self.eventLoop.execute { body(self) }
        }
    }
}

/// The acknowledgement a client asked for with an event; call it once with the answer.
public struct Ack: Sendable {
    let socket: Socket
    /// The acknowledgement id.
    public let id: Int

    /// Answers with `arguments`.
    public func callAsFunction(_ arguments: JSONValue...) {
        self.socket.sendAck(id: self.id, arguments: arguments)
    }

    /// Answers with `arguments`.
    public func send(arguments: [JSONValue]) {
        self.socket.sendAck(id: self.id, arguments: arguments)
    }
}

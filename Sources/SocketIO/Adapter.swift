import EngineIO
import NIOCore

/// Keeps track of which sockets are in which rooms of one namespace and delivers broadcasts to them.
/// ``InMemoryAdapter`` serves one process; a cluster adapter implements the same protocol.
///
/// Membership calls (`add`, `join`, `leave`, `remove`) are made on the socket's event loop.
public protocol Adapter: AnyObject, Sendable {
    /// A socket connected; it is already in its own room (its id).
    func add(_ socket: Socket)
    /// The socket joins `room`.
    func join(_ socket: Socket, room: String)
    /// The socket leaves `room`.
    func leave(_ socket: Socket, room: String)
    /// The socket disconnected: it leaves every room.
    func remove(_ socket: Socket)
    /// Encodes `packet` once and sends it to every socket the options select. With connection-state
    /// recovery, a non-volatile event without acknowledgement first gets its offset appended as last
    /// argument and is logged for replay. May be called from any thread; the packets are queued, in
    /// call order, before it returns.
    func broadcast(_ packet: SocketPacket, options: BroadcastOptions)
    /// Like ``broadcast(_:options:)``, and reports how many sockets the packet was handed to.
    func broadcastCounting(_ packet: SocketPacket, options: BroadcastOptions) -> EventLoopFuture<Int>
    /// Keeps a disconnected socket's session for connection-state recovery (no-op without it).
    func persistSession(_ session: PersistedSession)
    /// A kept session and the broadcasts it missed after `offset`, or `nil`; the session stays kept.
    func restoreSession(privateID: String, offset: String) -> RestoredSession?
    /// Forgets a restored session; `false` if it was no longer kept.
    func takeSession(privateID: String) -> Bool
    /// Runs `body` on each socket the options select, on that socket's event loop (for socketsJoin,
    /// socketsLeave, disconnectSockets, emits with acknowledgements).
    func forEachSocket(options: BroadcastOptions, _ body: @escaping @Sendable (Socket) -> Void) -> EventLoopFuture<Void>
    /// The ids of the sockets the options select.
    func socketIDs(options: BroadcastOptions) -> EventLoopFuture<[String]>
    /// The number of sockets in each room (a socket's own room included).
    func roomSizes() -> EventLoopFuture<[String: Int]>
    /// Makes the sockets the options select join `rooms` (socket.io's `addSockets`): on every node
    /// of a cluster adapter. The default runs ``forEachSocket(options:_:)`` locally.
    func addSockets(options: BroadcastOptions, rooms: Set<String>) -> EventLoopFuture<Void>
    /// Makes the sockets the options select leave `rooms` (socket.io's `delSockets`).
    func delSockets(options: BroadcastOptions, rooms: Set<String>) -> EventLoopFuture<Void>
    /// Disconnects the sockets the options select; with `close`, their Engine.IO connections too.
    func disconnectSockets(options: BroadcastOptions, close: Bool) -> EventLoopFuture<Void>
}

extension Adapter {
    /// Local: the selected sockets of this process join `rooms`.
    public func addSockets(options: BroadcastOptions, rooms: Set<String>) -> EventLoopFuture<Void> {
        self.forEachSocket(options: options) { socket in
            for room in rooms { socket.join(room) }
        }
    }

    /// Local: the selected sockets of this process leave `rooms`.
    public func delSockets(options: BroadcastOptions, rooms: Set<String>) -> EventLoopFuture<Void> {
        self.forEachSocket(options: options) { socket in
            for room in rooms { socket.leave(room) }
        }
    }

    /// Local: disconnects the selected sockets of this process.
    public func disconnectSockets(options: BroadcastOptions, close: Bool) -> EventLoopFuture<Void> {
        self.forEachSocket(options: options) { $0.disconnect(close: close) }
    }
}

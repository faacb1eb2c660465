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
    /// Sends already-encoded packets to every socket the options select. May be called from any
    /// thread; returns once the work is queued.
    func broadcast(_ packets: [EncodedPacket], options: BroadcastOptions)
    /// Runs `body` on each socket the options select, on that socket's event loop (for socketsJoin,
    /// socketsLeave, disconnectSockets, emits with acknowledgements).
    func forEachSocket(options: BroadcastOptions, _ body: @escaping @Sendable (Socket) -> Void) -> EventLoopFuture<Void>
    /// The ids of the sockets the options select.
    func socketIDs(options: BroadcastOptions) -> EventLoopFuture<[String]>
    /// The number of sockets in each room (a socket's own room included).
    func roomSizes() -> EventLoopFuture<[String: Int]>
}

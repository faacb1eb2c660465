import EngineIO
import NIOCore

/// Selects sockets of a namespace and sends to them, as socket.io's `io.to(…).except(…).emit(…)`.
/// The packet is encoded once, whatever the number of targets.
public struct BroadcastOperator: Sendable {
    /// The namespace broadcast in.
    public let namespace: Namespace
    /// Which sockets are reached.
    public private(set) var options = BroadcastOptions()

    init(namespace: Namespace, options: BroadcastOptions = BroadcastOptions()) {
        self.namespace = namespace
        self.options = options
    }

    /// Also reaches the members of `room`.
    public func to(_ room: String) -> Self {
        var copy = self
        copy.options.rooms.insert(room)
        return copy
    }

    /// Also reaches the members of `rooms`.
    public func to(_ rooms: some Sequence<String>) -> Self {
        var copy = self
        copy.options.rooms.formUnion(rooms)
        return copy
    }

    /// Same as ``to(_:)-(String)``.
    public func `in`(_ room: String) -> Self { self.to(room) }

    /// Skips the members of `room` (a socket id skips that socket).
    public func except(_ room: String) -> Self {
        var copy = self
        copy.options.except.insert(room)
        return copy
    }

    /// Skips the members of `rooms`.
    public func except(_ rooms: some Sequence<String>) -> Self {
        var copy = self
        copy.options.except.formUnion(rooms)
        return copy
    }

    /// Drops the packet for clients whose transport cannot take it now.
    public var volatile: Self {
        var copy = self
        copy.options.volatile = true
        return copy
    }

    /// Only the sockets of this process (a cluster adapter does not forward the broadcast or
    /// request to other nodes), as socket.io's `io.local`.
    public var local: Self {
        var copy = self
        copy.options.local = true
        return copy
    }

    /// Sends `event` with `arguments` to the selected sockets.
    public func emit(_ event: String, _ arguments: JSONValue...) {
        self.emit(event, arguments: arguments)
    }

    /// Sends `event` with `arguments` to the selected sockets.
    /// (On a dynamic parent namespace, the same selection in each of its children.)
    public func emit(_ event: String, arguments: [JSONValue]) {
        for target in self.targets {
            let packet = SocketPacket(type: .event, namespace: target.name, data: .array([.string(event)] + arguments))
            target.adapter.broadcast(packet, options: self.options)
        }
    }

    /// Sends `event` with `arguments` to the selected sockets; the future tells how many sockets it
    /// was handed to. The packets are queued in call order before this returns.
    @discardableResult
    public func emitCounting(_ event: String, arguments: [JSONValue]) -> EventLoopFuture<Int> {
        let counts = self.targets.map { target in
            let packet = SocketPacket(type: .event, namespace: target.name, data: .array([.string(event)] + arguments))
            return target.adapter.broadcastCounting(packet, options: self.options)
        }
        guard counts.count > 1 else { return counts[0] }
        return EventLoopFuture.whenAllSucceed(counts, on: counts[0].eventLoop).map { $0.reduce(0, +) }
    }

    /// The namespace, and for a dynamic parent its children.
    private var targets: [Namespace] {
        [self.namespace] + self.namespace.childNamespaces
    }

    /// The ids of the selected sockets.
    public func socketIDs() async throws -> [String] {
        try await self.namespace.adapter.socketIDs(options: self.options).get()
    }

    /// Makes the selected sockets join `room`.
    public func socketsJoin(_ room: String) async throws {
        try await self.namespace.adapter.addSockets(options: self.options, rooms: [room]).get()
    }

    /// Makes the selected sockets leave `room`.
    public func socketsLeave(_ room: String) async throws {
        try await self.namespace.adapter.delSockets(options: self.options, rooms: [room]).get()
    }

    /// Disconnects the selected sockets; with `close`, closes their Engine.IO connections too.
    public func disconnectSockets(close: Bool = false) async throws {
        try await self.namespace.adapter.disconnectSockets(options: self.options, close: close).get()
    }
}

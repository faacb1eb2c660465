/// Which sockets of a namespace a broadcast reaches, and how.
public struct BroadcastOptions: Sendable, Hashable {
    /// Rooms to reach (their union); empty means every socket of the namespace.
    public var rooms: Set<String> = []
    /// Rooms whose members are skipped.
    public var except: Set<String> = []
    /// Drop the packet for clients whose transport cannot take it now.
    public var volatile = false
    /// Only this process's sockets: a cluster adapter keeps the broadcast (or request) local.
    public var local = false

    /// Creates options.
    public init(rooms: Set<String> = [], except: Set<String> = [], volatile: Bool = false) {
        self.rooms = rooms
        self.except = except
        self.volatile = volatile
    }
}

import SocketIO
import SocketIORedis

extension HubCluster {
    /// The Socket.IO adapter factory spanning the nodes: ``adapterNode``'s RedisAdapter (broadcasts,
    /// rooms, recovery through one Redis stream).
    func adapterFactory(recovery: ConnectionStateRecovery?) -> SocketIOServer.AdapterFactory? {
        self.adapterNode.adapterFactory(recovery: recovery)
    }
}

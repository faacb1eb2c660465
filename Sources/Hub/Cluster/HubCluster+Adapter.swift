import SocketIO

extension HubCluster {
    /// The Socket.IO adapter factory spanning the nodes; `nil` while the Redis adapter is not
    /// wired (the in-memory adapter is used then).
    func adapterFactory(recovery: ConnectionStateRecovery?) -> SocketIOServer.AdapterFactory? {
        nil
    }
}

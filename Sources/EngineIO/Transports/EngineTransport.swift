import NIOCore

/// A way packets reach a client: HTTP long-polling or a WebSocket. The session only calls
/// ``send(_:)`` when its state machine says the transport can write now.
protocol EngineTransport: AnyObject {
    /// Which transport this is.
    var kind: EngineTransportKind { get }
    /// Sends packets now.
    func send(_ packets: some Collection<EncodedPacket>)
}

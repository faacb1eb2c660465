import NIOCore
import NIOWebSocket

/// A WebSocket carrying a session: text packets as text frames, binary messages as binary frames.
/// The channel may live on another event loop than the session; writes then hop once per batch.
final class WebSocketTransport: EngineTransport, @unchecked Sendable {
    let kind = EngineTransportKind.websocket
    let channel: Channel
    private let maxBufferedBytes: Int
    /// Bytes written while the channel was not writable, since it last was.
    private var overflowBytes = 0

    init(channel: Channel, maxBufferedBytes: Int) {
        self.channel = channel
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// Whether the socket buffer has room (volatile packets are dropped when it has not).
    var isWritable: Bool { self.channel.isWritable }

    /// Whether the client is reading too slowly: more than `maxBufferedBytes` went out while the
    /// channel was over its high-water mark. Counted on the session's loop.
    func recordOverflow(adding bytes: Int) -> Bool {
        if self.channel.isWritable {
            self.overflowBytes = 0
            return false
        }
        self.overflowBytes += bytes
        return self.overflowBytes > self.maxBufferedBytes
    }

    func send(_ packets: some Collection<EncodedPacket>) {
        let frames = packets.map { packet in
            WebSocketFrame(fin: true, opcode: packet.kind == .text ? .text : .binary, data: packet.bytes)
        }
        let channel = self.channel
        if channel.eventLoop.inEventLoop {
            Self.write(frames, to: channel)
        } else {
            channel.eventLoop.execute { Self.write(frames, to: channel) }
        }
    }

    private static func write(_ frames: [WebSocketFrame], to channel: Channel) {
        for frame in frames {
            channel.write(frame, promise: nil)
        }
        channel.flush()
    }

    /// Sends a close frame with `code` and closes the connection once it is written.
    func close(code: WebSocketErrorCode = .normalClosure) {
        let channel = self.channel
        channel.eventLoop.execute {
            guard channel.isActive else { return }
            var data = channel.allocator.buffer(capacity: 2)
            data.write(webSocketErrorCode: code)
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
            channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

import NIOCore
import NIOWebSocket

/// A WebSocket carrying a session: text packets as text frames, binary messages as binary frames.
/// The channel may live on another event loop than the session; writes then hop once per batch.
/// Writes are flushed once per event-loop tick by the loop's ``WebSocketFlushBatch``.
final class WebSocketTransport: EngineTransport, @unchecked Sendable {
    let kind = EngineTransportKind.websocket
    let channel: Channel
    private let maxBufferedBytes: Int
    private let flushBatch: WebSocketFlushBatch
    /// Bytes written while the channel was not writable, since it last was.
    private var overflowBytes = 0
    /// Whether the channel has writes waiting for this tick's flush (touched on the channel's loop).
    private var needsFlush = false

    init(channel: Channel, maxBufferedBytes: Int, flushBatch: WebSocketFlushBatch) {
        precondition(flushBatch.eventLoop === channel.eventLoop, "flush batch of another event loop")
        self.channel = channel
        self.maxBufferedBytes = maxBufferedBytes
        self.flushBatch = flushBatch
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
        if self.channel.eventLoop.inEventLoop {
            self.write(frames)
        } else {
            self.channel.eventLoop.execute { self.write(frames) }
        }
    }

    private func write(_ frames: [WebSocketFrame]) {
        for frame in frames {
            self.channel.write(frame, promise: nil)
        }
        guard !self.needsFlush else { return }
        self.needsFlush = true
        self.flushBatch.flushAtEndOfTick(self)
    }

    /// Flushes what was written this tick (called by the flush batch, on the channel's loop).
    func flushNow() {
        self.needsFlush = false
        self.channel.flush()
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

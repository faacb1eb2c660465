import NIOCore
import NIOWebSocket

/// A WebSocket carrying a session: text packets as text frames, binary messages as binary frames.
///
/// The transport is also a handler in the channel's pipeline, placed head-side of NIO's
/// `WebSocketFrameEncoder`: packets go out as frame bytes built here (for a broadcast, built once
/// and shared by every target, see ``PreparedPackets``), written from this handler's context so
/// they skip the per-frame encoder. Control frames (pong, close) still go through the encoder.
/// Writes are flushed once per event-loop tick by the loop's ``WebSocketFlushBatch``.
///
/// Its write state is touched on the channel's loop only. The channel may live on another loop
/// than the session (a polling session upgraded by a WebSocket accepted elsewhere); writes then hop
/// once per send.
///
/// The outbound bound: the channel's high-water mark is `min(256 KiB, maxBufferedBytes)`. While
/// the channel is under it, writes go out; above it, the writes of the tick are flushed first, and
/// if the channel is still over it volatile packets are dropped, and a packet that would bring the
/// bytes queued but not yet written past `maxBufferedBytes` is not written and the session is
/// closed ("transport buffer full").
final class WebSocketTransport: ChannelInboundHandler, EngineTransport, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    /// What became of a write.
    enum WriteOutcome {
        /// Written (flushed at the end of the tick).
        case written
        /// A volatile write the channel could not take now.
        case dropped
        /// The client reads too slowly: the session must close with "transport buffer full".
        case overflow
        /// The channel is gone; nothing was written.
        case closed
    }

    /// The default high-water mark of the channel's write buffer; lowered to `maxBufferedBytes` if
    /// that is smaller.
    static let highWaterMark = 256 * 1024

    let kind = EngineTransportKind.websocket
    let channel: Channel
    /// The channel's loop.
    let eventLoop: EventLoop
    private let maxBufferedBytes: Int
    private let flushBatch: WebSocketFlushBatch
    /// This handler's context while it is in the pipeline (channel's loop).
    private var context: ChannelHandlerContext?
    /// The channel's writability, followed through `channelWritabilityChanged` (no atomic load per write).
    private var writable = true
    /// Whether the channel has writes waiting for this tick's flush (channel's loop).
    private var needsFlush = false

    init(channel: Channel, maxBufferedBytes: Int, flushBatch: WebSocketFlushBatch) {
        precondition(flushBatch.eventLoop === channel.eventLoop, "flush batch of another event loop")
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.maxBufferedBytes = maxBufferedBytes
        self.flushBatch = flushBatch
    }

    /// Adds the transport to `channel`'s pipeline, head-side of the `WebSocketFrameEncoder` (or
    /// first, if there is none), and sets the channel's write-buffer water marks.
    func install(in channel: Channel) throws {
        let high = max(1, min(Self.highWaterMark, self.maxBufferedBytes))
        _ = channel.setOption(.writeBufferWaterMark, value: .init(low: max(1, high / 4), high: high))
        let pipeline = channel.pipeline.syncOperations
        if let encoder = try? pipeline.handler(type: WebSocketFrameEncoder.self) {
            try pipeline.addHandler(self, position: .before(encoder))
        } else {
            try pipeline.addHandler(self, position: .first)
        }
    }

    // MARK: ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.writable = context.channel.isWritable
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.writable = context.channel.isWritable
        context.fireChannelWritabilityChanged()
    }

    // MARK: Writing

    /// Sends packets now (framing them here), without the slow-consumer check (the open packet, a
    /// probe answer).
    func send(_ packets: some Collection<EncodedPacket>) {
        let frames = WebSocketFrameBytes.frames(of: packets, allocator: self.channel.allocator)
        if self.eventLoop.inEventLoop {
            _ = self.write(frames, volatile: false, bounded: false)
        } else {
            self.eventLoop.execute { _ = self.write(frames, volatile: false, bounded: false) }
        }
    }

    /// Writes frame bytes (on the channel's loop). A volatile write is dropped while the channel is
    /// over its high-water mark; a bounded one overflows when it would bring the queued bytes past
    /// `maxBufferedBytes`.
    func write(_ frames: ByteBuffer, volatile: Bool, bounded: Bool = true) -> WriteOutcome {
        self.eventLoop.assertInEventLoop()
        guard let context = self.context else { return .closed }
        if !self.writable, self.needsFlush {
            // Over the high-water mark with writes of this tick not flushed yet: hand them to the
            // socket first (a burst to a fast reader is not a slow consumer). Rare path.
            context.flush()
        }
        if !self.writable {
            if volatile { return .dropped }
            if bounded, self.queuedBytes(context) + frames.readableBytes > self.maxBufferedBytes {
                return .overflow
            }
        }
        context.write(self.wrapOutboundOut(frames), promise: nil)
        if !self.needsFlush {
            self.needsFlush = true
            self.flushBatch.flushAtEndOfTick(self)
        }
        return .written
    }

    /// The bytes written to the channel but not yet to the socket (only asked when over the
    /// high-water mark).
    private func queuedBytes(_ context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    /// Flushes what was written this tick (called by the flush batch, on the channel's loop).
    func flushNow() {
        self.needsFlush = false
        self.context?.flush()
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

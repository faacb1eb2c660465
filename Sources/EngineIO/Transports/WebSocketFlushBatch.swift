import NIOCore

/// Flushes, once per event-loop tick, every WebSocket written to during that tick, so a burst of
/// messages to one client (the broadcasts of one read, say) leaves in one `writev` instead of one
/// per message. There is one batch per event loop (``EngineServer`` keeps them); it is touched only
/// on that loop.
///
/// The flush runs as one task queued on the loop when the first WebSocket of the tick asks for it:
/// NIO runs queued tasks after the I/O of the tick, and tasks queued by tasks before it selects
/// again, so every write of the tick is in by then.
final class WebSocketFlushBatch: @unchecked Sendable {
    /// The loop the batch belongs to.
    let eventLoop: EventLoop
    private var pending: [WebSocketTransport] = []
    /// The previous tick's array, kept for its capacity.
    private var spare: [WebSocketTransport] = []
    private var scheduled = false

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Flushes `transport` at the end of this tick. The transport calls it once per tick (it keeps
    /// its own "needs flush" mark). Must be called on ``eventLoop``.
    func flushAtEndOfTick(_ transport: WebSocketTransport) {
        self.pending.append(transport)
        guard !self.scheduled else { return }
        self.scheduled = true
        self.eventLoop.execute { self.flushAll() }
    }

    private func flushAll() {
        self.scheduled = false
        swap(&self.pending, &self.spare)
        for transport in self.spare {
            transport.flushNow()
        }
        self.spare.removeAll(keepingCapacity: true)
    }
}

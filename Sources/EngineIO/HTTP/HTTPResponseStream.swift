import NIOCore

/// A response whose body is written over time, for as long as the endpoint wants: Server-Sent
/// Events, say. Started with ``HTTPResponseSink/startStream(status:headers:writeBufferWaterMark:)``.
///
/// The head goes out at once, without a `Content-Length`: to an HTTP/1.1 request the body is sent
/// with `Transfer-Encoding: chunked`, to an HTTP/1.0 one as raw bytes ended by the close. The head
/// always says `Connection: close`: once the stream ends, the connection closes (no keep-alive
/// follows a stream). No keep-alive or head clock runs while the stream is open.
///
/// The stream ends, and ``onClose(_:)`` callbacks run once, when any of these happens:
/// ``close()`` (the body is ended properly, then the connection closes), the client goes away,
/// or ``HTTPServer/closeConnections(until:)`` drains the server (the stream is ended like a
/// ``close()``).
///
/// Not thread-safe: use it on ``eventLoop`` only (hold it in a `NIOLoopBound` to pass it around).
/// Writes are not flushed until ``flush()``, so several can go out in one system call.
public final class HTTPResponseStream {
    /// How long an ended stream waits for what is still buffered to be written before the
    /// connection is dropped anyway: 2 s.
    public static let closeGracePeriod = TimeAmount.seconds(2)

    /// The event loop of the connection; every method must be called on it.
    public let eventLoop: EventLoop
    /// The client's address.
    public let remoteAddress: SocketAddress?
    private weak var router: HTTPRequestRouter?
    private var callbacks: [() -> Void] = []
    /// Whether the connection has closed and the callbacks ran.
    private var finished = false
    /// Whether the stream still takes writes: not closed by ``close()``, the client or a drain.
    public private(set) var isOpen = true
    /// Whether the connection's outbound buffer is below its high-water mark: `false` means the
    /// client is not reading as fast as it is written to, and what is written waits in memory.
    public var isWritable: Bool {
        self.eventLoop.preconditionInEventLoop()
        return self.isOpen && (self.router?.channelIsWritable ?? false)
    }

    init(router: HTTPRequestRouter, eventLoop: EventLoop, remoteAddress: SocketAddress?) {
        self.router = router
        self.eventLoop = eventLoop
        self.remoteAddress = remoteAddress
    }

    /// Writes `bytes` as the next part of the body (unflushed); nothing once the stream has ended.
    public func write(_ bytes: ByteBuffer) {
        self.eventLoop.preconditionInEventLoop()
        guard self.isOpen else { return }
        self.router?.streamWrite(bytes)
    }

    /// Sends what was written.
    public func flush() {
        self.eventLoop.preconditionInEventLoop()
        guard self.isOpen else { return }
        self.router?.streamFlush()
    }

    /// Ends the body (after everything written so far) and closes the connection: once the rest
    /// is written, or after ``closeGracePeriod`` at the latest. The ``onClose(_:)`` callbacks run
    /// once the connection is closed.
    public func close() {
        self.eventLoop.preconditionInEventLoop()
        guard self.isOpen else { return }
        self.isOpen = false
        self.router?.endStream()
    }

    /// Runs `callback` on ``eventLoop`` once the stream has ended and the connection is closed,
    /// whatever the cause; at once if that already happened.
    public func onClose(_ callback: @escaping () -> Void) {
        self.eventLoop.preconditionInEventLoop()
        if self.finished {
            callback()
        } else {
            self.callbacks.append(callback)
        }
    }

    /// Told by the router: the stream is being ended by the server (a drain); no more writes.
    func ending() {
        self.isOpen = false
    }

    /// Told by the router: the connection is closed.
    func connectionClosed() {
        guard !self.finished else { return }
        self.finished = true
        self.isOpen = false
        self.router = nil
        let callbacks = self.callbacks
        self.callbacks = []
        for callback in callbacks {
            callback()
        }
    }
}

import NIOCore
import NIOHTTP1

/// Where the answer to one request goes. It may be used from any thread; only the first response
/// is sent. A long-poll keeps its sink until packets arrive, and learns through ``onCancel(_:)``
/// when the client goes away first.
public struct HTTPResponseSink: Sendable {
    private let router: NIOLoopBound<HTTPRequestRouter>
    private let sequence: UInt64
    private let routerID: ObjectIdentifier

    /// The event loop of the connection the request came on.
    public var eventLoop: EventLoop { self.router.eventLoop }

    init(router: HTTPRequestRouter, eventLoop: EventLoop, sequence: UInt64) {
        self.router = NIOLoopBound(router, eventLoop: eventLoop)
        self.sequence = sequence
        self.routerID = ObjectIdentifier(router)
    }

    /// Whether both sinks answer the same request.
    func isSameRequest(as other: HTTPResponseSink) -> Bool {
        self.sequence == other.sequence && self.routerID == other.routerID
    }

    /// Sends `response`, unless a response was already sent or the connection is gone.
    public func send(_ response: HTTPServerResponse) {
        if self.router.eventLoop.inEventLoop {
            self.router.value.respond(response, sequence: self.sequence)
        } else {
            let router = self.router
            let sequence = self.sequence
            router.eventLoop.execute { router.value.respond(response, sequence: sequence) }
        }
    }

    /// Answers the request with a streaming response instead of a whole one: writes the head
    /// (`status`, `headers`; no `Content-Length`, `Connection: close`) and returns the stream to
    /// write the body to (see ``HTTPResponseStream``). Returns `nil` if a response was already sent
    /// or the connection is gone.
    ///
    /// Must be called on ``eventLoop`` (``HTTPEndpoint/handle(_:sink:)`` is called there).
    ///
    /// - Parameter writeBufferWaterMark: The connection's outbound buffer marks, if the defaults
    ///   (NIO's 32 KiB / 64 KiB) do not suit; ``HTTPResponseStream/isWritable`` follows the high one.
    public func startStream(status: HTTPResponseStatus = .ok, headers: HTTPHeaders,
                            writeBufferWaterMark: ChannelOptions.Types.WriteBufferWaterMark? = nil) -> HTTPResponseStream? {
        self.router.eventLoop.preconditionInEventLoop()
        return self.router.value.startStream(status: status, headers: headers, sequence: self.sequence,
                                             writeBufferWaterMark: writeBufferWaterMark)
    }

    /// Runs `callback` on the connection's event loop if the connection closes before a response
    /// was sent (at once if it already has).
    public func onCancel(_ callback: @escaping @Sendable () -> Void) {
        if self.router.eventLoop.inEventLoop {
            self.router.value.setCancelCallback(callback, sequence: self.sequence)
        } else {
            let router = self.router
            let sequence = self.sequence
            router.eventLoop.execute { router.value.setCancelCallback(callback, sequence: sequence) }
        }
    }
}

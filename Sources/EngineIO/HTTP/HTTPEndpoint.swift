import NIOCore
import NIOHTTP1

/// Something served by ``HTTPServer`` under some paths: an ``EngineServer``, or an application's
/// routes (the hub's API, its `/stream` WebSocket). The server asks each endpoint in order and the
/// first whose ``matches(path:)`` is true gets the request.
public protocol HTTPEndpoint: Sendable {
    /// Whether requests for `path` belong to this endpoint.
    func matches(path: String) -> Bool
    /// The largest request body accepted, in bytes; a longer one is answered 413 before it is buffered.
    var maxRequestBodySize: Int { get }
    /// Answers a complete request through `sink`: with one whole response
    /// (``HTTPResponseSink/send(_:)``), or a body written over time
    /// (``HTTPResponseSink/startStream(status:headers:writeBufferWaterMark:)``).
    func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink)
    /// Told after a request whose body passed ``maxRequestBodySize`` was answered 413.
    func requestBodyTooLarge(_ head: HTTPRequestHead)
    /// For a WebSocket upgrade request: the extra headers to accept it with, or `nil` to refuse it
    /// (the request then reaches ``handle(_:sink:)`` as plain HTTP, which answers the error).
    func shouldUpgrade(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?>
    /// Adds the endpoint's WebSocket handlers after an accepted upgrade.
    func configureWebSocket(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<Void>
}

extension HTTPEndpoint {
    public func requestBodyTooLarge(_ head: HTTPRequestHead) {}

    public func shouldUpgrade(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?> {
        channel.eventLoop.makeSucceededFuture(nil)
    }

    public func configureWebSocket(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<Void> {
        channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
    }
}

import EngineIO
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The plain-WebSocket gateway at `/stream`, for clients without a Socket.IO library: JSON messages
/// in text frames to authenticate, subscribe to rooms (with replay from history) or to every room
/// the token may read, receive hub events, and publish events under the rules a Socket.IO socket
/// has. The server pings every `streamPingInterval` and closes a client silent for
/// `streamPingTimeout` (1001 `ping timeout`). `/stream/{room}` subscribes to `room` of namespace
/// `/` as soon as the client is authenticated. Docs/stream.md describes the protocol.
///
/// A request that is not a WebSocket upgrade is answered `426 Upgrade Required`.
///
/// ```swift
/// let http = HTTPServer(configuration: .init(host: "127.0.0.1", port: 3000),
///                       endpoints: [hub.io.engine, StreamEndpoint(hub: hub)], group: group, logger: logger)
/// ```
public final class StreamEndpoint: HTTPEndpoint {
    /// Where the gateway is served.
    public static let path = "/stream"
    /// The most subscriptions one connection holds at once; a subscribe beyond it is refused with
    /// an error message (the connection stays open).
    public static let maxSubscriptionsPerConnection = 64
    /// The most `publish` messages of one connection waiting for the broadcaster at once; one more
    /// is refused with an error message (the connection stays open).
    public static let maxPendingPublishesPerConnection = 64

    /// What a request path asks for.
    typealias Target = GatewayTarget

    private let hub: Hub

    /// Creates the gateway for `hub`; its limits come from `hub.configuration`.
    public init(hub: Hub) {
        self.hub = hub
    }

    /// What `path` asks for, or `nil` if it is not the gateway's or names no usable room.
    ///
    /// `/stream` and `/stream/` are ``Target/bare``. `/stream/{room}` is ``Target/room(_:)`` with
    /// the room percent-decoded (`/stream/team%2Fops` is room `team/ops`); a room segment with a raw
    /// `/` or a malformed escape gives `nil`.
    static func target(of path: String) -> Target? {
        GatewayTarget(path: path, mount: Self.path)
    }

    // MARK: HTTPEndpoint

    public func matches(path: String) -> Bool {
        path == Self.path || path.hasPrefix(Self.path + "/")
    }

    /// `maxHttpBufferSize`: also the largest client message accepted (larger ones close with 1009).
    public var maxRequestBodySize: Int {
        self.hub.configuration.maxHttpBufferSize
    }

    /// Answers requests that did not become a WebSocket: `426` for a GET, `405` for other methods,
    /// `400` for a path naming no usable room. Bodies are JSON `{"error": …}`.
    public func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
        guard Self.target(of: request.target.path) != nil else {
            sink.send(.json(.badRequest, #"{"error":"invalid room in path"}"#))
            return
        }
        guard request.head.method == .GET else {
            var response = HTTPServerResponse.json(.methodNotAllowed, #"{"error":"method not allowed"}"#)
            response.headers.add(name: "Allow", value: "GET")
            sink.send(response)
            return
        }
        var response = HTTPServerResponse.json(
            .upgradeRequired, #"{"error":"upgrade required","message":"connect with a WebSocket client"}"#)
        response.headers.add(name: "Upgrade", value: "websocket")
        response.headers.add(name: "Connection", value: "Upgrade")
        sink.send(response)
    }

    public func shouldUpgrade(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<HTTPHeaders?> {
        guard head.method == .GET, Self.target(of: RequestTarget(uri: head.uri).path) != nil else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
    }

    public func configureWebSocket(channel: Channel, head: HTTPRequestHead) -> EventLoopFuture<Void> {
        let target = RequestTarget(uri: head.uri)
        guard let path = Self.target(of: target.path) else {
            return channel.close()
        }
        let pathRoom: String? = switch path {
        case .bare: nil
        case .room(let room): room
        }
        let maxSize = self.hub.configuration.maxHttpBufferSize
        return channel.eventLoop.makeCompletedFuture {
            _ = channel.setOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
            try channel.pipeline.syncOperations.addHandler(
                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                                            maxAccumulatedFrameSize: maxSize))
            try channel.pipeline.syncOperations.addHandler(
                StreamHandler(hub: self.hub, queryToken: target.query["token"], pathRoom: pathRoom,
                              maxMessageSize: maxSize, maxBufferedBytes: maxSize))
        }
    }
}

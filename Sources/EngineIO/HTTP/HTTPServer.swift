import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The HTTP/1.1 + WebSocket listener: one pipeline per connection (HTTP codec, pipelining,
/// WebSocket upgrader, ``HTTPRequestRouter``), serving a list of ``HTTPEndpoint``s on one port.
public final class HTTPServer: Sendable {
    /// Listener settings.
    public struct Configuration: Sendable {
        /// The address to bind. Default `127.0.0.1`.
        public var host: String = "127.0.0.1"
        /// The port to bind; 0 picks a free one. Default 3000.
        public var port: Int = 3000
        /// The listen backlog. Default 1024.
        public var backlog: Int32 = 1024
        /// The body limit for requests no endpoint claims (they get 404). Default 1 MiB.
        public var fallbackMaxRequestBodySize: Int = 1 << 20
        /// The largest request head (request line and headers together, and any one header), in
        /// bytes; a longer one is answered 431 and the connection closed. Default 16 384 (Node.js's
        /// `--max-http-header-size`, which socket.io servers run under).
        public var maxHeaderSize: Int = 16 * 1024
        /// How long a request head may take from its first byte to its end; a client that trickles
        /// it (slowloris) gets 408 and the connection is closed. Default 10 s.
        public var requestHeadTimeout: TimeAmount = .seconds(10)
        /// How long a connection may idle between requests (and before its first) before it is
        /// closed. No clock runs while a request is being answered, so a long-poll GET is never cut;
        /// upgraded WebSockets have the Engine.IO heartbeat instead. Default 30 s: above the default
        /// pingInterval (25 s), so the connection a polling client POSTs its pongs on stays open.
        public var keepAliveTimeout: TimeAmount = .seconds(30)

        /// Creates a configuration.
        public init(host: String = "127.0.0.1", port: Int = 3000) {
            self.host = host
            self.port = port
        }
    }

    private let configuration: Configuration
    private let endpoints: [any HTTPEndpoint]
    private let group: EventLoopGroup
    private let logger: Logger
    private let channelBox = NIOLockedValueBox<Channel?>(nil)
    private let connections = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
    /// Connections refused here (431, 408) by reason; pass an ``EngineServer``'s
    /// ``EngineServer/refusals`` to count everything in one place.
    public let refusals: RefusalCounter

    /// Sent down each connection's pipeline by ``closeConnections(until:)``.
    struct CloseWhenIdleEvent: Sendable {}

    /// Creates a server; nothing listens until ``start()``.
    public init(configuration: Configuration, endpoints: [any HTTPEndpoint], group: EventLoopGroup, logger: Logger,
                refusals: RefusalCounter = RefusalCounter()) {
        self.configuration = configuration
        self.endpoints = endpoints
        self.group = group
        self.logger = logger
        self.refusals = refusals
    }

    /// How many accepted connections are open (HTTP and upgraded WebSockets).
    public var connectionCount: Int {
        self.connections.withLockedValue { $0.count }
    }

    /// The bound address, once started.
    public var localAddress: SocketAddress? {
        self.channelBox.withLockedValue { $0?.localAddress }
    }

    /// Binds and starts accepting connections.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let endpoints = self.endpoints
        let fallbackLimit = self.configuration.fallbackMaxRequestBodySize
        let maxFrameSize = endpoints.map(\.maxRequestBodySize).max() ?? fallbackLimit
        let configuration = self.configuration
        let refusals = self.refusals
        let connections = self.connections
        let channel = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: self.configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                connections.withLockedValue { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in connections.withLockedValue { _ = $0.removeValue(forKey: id) } }
                return Self.configure(channel: channel, endpoints: endpoints, configuration: configuration, refusals: refusals,
                                      maxFrameSize: maxFrameSize)
            }
            .bind(host: self.configuration.host, port: self.configuration.port)
            .get()
        self.channelBox.withLockedValue { $0 = channel }
        let address = channel.localAddress!
        self.logger.info("listening", metadata: ["address": "\(address)"])
        return address
    }

    /// Stops accepting connections (open connections are left to their owners).
    public func stopAccepting() async {
        let channel = self.channelBox.withLockedValue { $0 }
        try? await channel?.close()
    }

    /// The last step of a drain: every HTTP connection finishes the request it is answering and
    /// closes (idle ones at once; a streaming response, ``HTTPResponseStream``, is ended); then waits until every connection is closed or `deadline`
    /// passes, and closes what is left (WebSockets no endpoint closed). Returns whether every
    /// connection closed on its own.
    @discardableResult
    public func closeConnections(until deadline: NIODeadline) async -> Bool {
        for channel in self.connections.withLockedValue({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(CloseWhenIdleEvent())
        }
        while self.connectionCount > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let remaining = self.connections.withLockedValue { Array($0.values) }
        for channel in remaining {
            channel.close(promise: nil)
        }
        return remaining.isEmpty
    }

    private static func configure(channel: Channel, endpoints: [any HTTPEndpoint], configuration: Configuration,
                                  refusals: RefusalCounter, maxFrameSize: Int) -> EventLoopFuture<Void> {
        let router = HTTPRequestRouter(
            endpoints: endpoints, fallbackBodyLimit: configuration.fallbackMaxRequestBodySize,
            timeouts: .init(requestHead: configuration.requestHeadTimeout, keepAlive: configuration.keepAliveTimeout),
            refusals: refusals)
        let activity = HTTPByteActivityHandler(router: router)
        router.rawOutput = activity
        let boundRouter = NIOLoopBound(router, eventLoop: channel.eventLoop)
        let boundActivity = NIOLoopBound(activity, eventLoop: channel.eventLoop)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameSize,
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                let path = RequestTarget(uri: head.uri).path
                guard let endpoint = endpoints.first(where: { $0.matches(path: path) }) else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return endpoint.shouldUpgrade(channel: channel, head: head)
            },
            upgradePipelineHandler: { channel, head in
                let path = RequestTarget(uri: head.uri).path
                guard let endpoint = endpoints.first(where: { $0.matches(path: path) }) else {
                    return channel.close()
                }
                do {
                    try channel.pipeline.syncOperations.addHandler(WebSocketProtocolErrorResponder())
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return endpoint.configureWebSocket(channel: channel, head: head)
            }
        )
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeaderSize
        limits.maxHeaderFieldSize = configuration.maxHeaderSize
        do {
            // Protocol errors (malformed requests, heads past maxHeaderSize) are answered by the router.
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withServerUpgrade: (
                    upgraders: [upgrader],
                    completionHandler: { context in
                        context.pipeline.syncOperations.removeHandler(boundRouter.value, promise: nil)
                        context.pipeline.syncOperations.removeHandler(boundActivity.value, promise: nil)
                    }
                ),
                withErrorHandling: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try channel.pipeline.syncOperations.addHandler(activity, position: .first)
            try channel.pipeline.syncOperations.addHandler(router)
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }
}

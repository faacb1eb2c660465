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

    /// Creates a server; nothing listens until ``start()``.
    public init(configuration: Configuration, endpoints: [any HTTPEndpoint], group: EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.endpoints = endpoints
        self.group = group
        self.logger = logger
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
        let channel = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: self.configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                Self.configure(channel: channel, endpoints: endpoints, fallbackLimit: fallbackLimit, maxFrameSize: maxFrameSize)
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

    private static func configure(channel: Channel, endpoints: [any HTTPEndpoint], fallbackLimit: Int, maxFrameSize: Int) -> EventLoopFuture<Void> {
        let router = HTTPRequestRouter(endpoints: endpoints, fallbackBodyLimit: fallbackLimit)
        let boundRouter = NIOLoopBound(router, eventLoop: channel.eventLoop)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameSize,
            automaticErrorHandling: true,
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
                return endpoint.configureWebSocket(channel: channel, head: head)
            }
        )
        do {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withServerUpgrade: (
                    upgraders: [upgrader],
                    completionHandler: { context in
                        context.pipeline.syncOperations.removeHandler(boundRouter.value, promise: nil)
                    }
                ),
                withErrorHandling: true
            )
            try channel.pipeline.syncOperations.addHandler(router)
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }
}

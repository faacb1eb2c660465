import EngineIO
import Logging
import NIOCore

/// A Socket.IO v5 server (socket.io's `io`), on an ``EngineServer`` it owns.
///
/// ```swift
/// let io = SocketIOServer(group: group)
/// io.of("/chat").use { socket in
///     guard socket.handshake.auth["token"] != nil else { throw ConnectError(message: "unauthorized") }
/// }
/// io.of("/chat").onConnection { socket in
///     socket.on("say") { args, ack in io.of("/chat").to("lobby").emit("said", arguments: args) }
/// }
/// let http = HTTPServer(configuration: .init(port: 3000), endpoints: [io.engine], group: group, logger: logger)
/// try await http.start()
/// ```
public final class SocketIOServer: Sendable {
    /// Makes the ``Adapter`` of a namespace.
    public typealias AdapterFactory = @Sendable (_ namespace: String, _ group: EventLoopGroup) -> any Adapter

    /// The server's settings.
    public let configuration: SocketIOConfiguration
    /// The Engine.IO server to mount on an ``HTTPServer``.
    public let engine: EngineServer
    private let registry: NamespaceRegistry

    /// Creates a server whose namespaces shard their rooms over `group`'s event loops.
    public init(configuration: SocketIOConfiguration = SocketIOConfiguration(), group: EventLoopGroup,
                logger: Logger = Logger(label: "socketio"),
                adapterFactory: AdapterFactory? = nil) {
        self.configuration = configuration
        let recovery = configuration.connectionStateRecovery
        let factory = adapterFactory ?? { _, group in InMemoryAdapter(group: group, recovery: recovery) }
        self.registry = NamespaceRegistry(group: group, adapterFactory: factory)
        self.engine = EngineServer(
            configuration: configuration.engine,
            delegate: ConnectionAcceptor(registry: self.registry, configuration: configuration),
            logger: logger
        )
        _ = self.registry.of("/")
    }

    /// The namespace `name` (`/` if not given), created if needed.
    public func of(_ name: String) -> Namespace {
        self.registry.of(name)
    }

    /// A dynamic namespace: any name `matcher` accepts becomes a child namespace on first connect,
    /// running this namespace's middlewares and connection handlers.
    public func of(matching matcher: @escaping @Sendable (String) -> Bool) -> Namespace {
        self.registry.parent(matching: matcher)
    }

    /// Every namespace clients can reach now (dynamic children included).
    public var namespaces: [Namespace] {
        self.registry.all
    }

    /// The main namespace `/`.
    public var sockets: Namespace { self.registry.of("/") }

    /// Adds a connect middleware to `/`.
    public func use(_ middleware: @escaping Namespace.Middleware) { self.sockets.use(middleware) }
    /// Adds an asynchronous connect middleware to `/`.
    public func use(_ middleware: @escaping Namespace.AsyncMiddleware) { self.sockets.use(middleware) }
    /// Runs `handler` for every socket connecting to `/`.
    public func onConnection(_ handler: @escaping Namespace.ConnectionHandler) { self.sockets.onConnection(handler) }
    /// A broadcast to `room` in `/`.
    public func to(_ room: String) -> BroadcastOperator { self.sockets.to(room) }
    /// A broadcast in `/` that skips `room`.
    public func except(_ room: String) -> BroadcastOperator { self.sockets.except(room) }
    /// Sends `event` to every socket of `/`.
    public func emit(_ event: String, _ arguments: JSONValue...) {
        BroadcastOperator(namespace: self.sockets).emit(event, arguments: arguments)
    }
}

/// Turns each new Engine.IO session into a ``ClientConnection``.
final class ConnectionAcceptor: EngineServerDelegate {
    let registry: NamespaceRegistry
    let configuration: SocketIOConfiguration

    init(registry: NamespaceRegistry, configuration: SocketIOConfiguration) {
        self.registry = registry
        self.configuration = configuration
    }

    func engineServer(_ server: EngineServer, didOpen session: EngineSession) {
        session.handler = ClientConnection(session: session, registry: self.registry, configuration: self.configuration)
    }
}

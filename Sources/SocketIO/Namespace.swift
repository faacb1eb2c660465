import EngineIO
import NIOConcurrencyHelpers
import NIOCore

/// A namespace (`/`, `/chat`, …): its connect middlewares, connection handlers, and rooms (through
/// its ``Adapter``).
public final class Namespace: Sendable {
    /// A connect middleware: throw ``ConnectError`` to refuse the connection.
    public typealias Middleware = @Sendable (Socket) throws -> Void
    /// An asynchronous connect middleware (a token lookup, say).
    public typealias AsyncMiddleware = @Sendable (Socket) async throws -> Void
    /// Runs for every socket that connected.
    public typealias ConnectionHandler = @Sendable (Socket) -> Void
    /// Handles an event for any socket of the namespace (registered once, not per socket).
    public typealias EventHandler = @Sendable (_ socket: Socket, _ arguments: [JSONValue], _ ack: Ack?) -> Void
    /// Handles an event no named handler (the socket's or the namespace's) takes: the event name,
    /// its arguments, and the acknowledgement to answer if the client asked for one.
    public typealias UnhandledEventHandler = @Sendable (_ socket: Socket, _ event: String, _ arguments: [JSONValue],
                                                        _ ack: Ack?) -> Void
    /// Runs when a socket is about to disconnect, while its rooms are still known.
    public typealias DisconnectingHandler = @Sendable (_ socket: Socket, _ reason: String) -> Void

    enum AnyMiddleware: Sendable {
        case sync(Middleware)
        case async(AsyncMiddleware)
    }

    /// The namespace's name, such as `/chat`.
    public let name: String
    /// Its room registry.
    public let adapter: any Adapter
    /// The dynamic namespace this one was created from, if any.
    public let parent: Namespace?
    let matcher: (@Sendable (String) -> Bool)?
    private let middlewares = NIOLockedValueBox<[AnyMiddleware]>([])
    private let connectionHandlers = NIOLockedValueBox<[ConnectionHandler]>([])
    private let children = NIOLockedValueBox<[Namespace]>([])
    private let eventHandlers = NIOLockedValueBox<[String: [EventHandler]]>([:])
    private let disconnectingHandlers = NIOLockedValueBox<[DisconnectingHandler]>([])
    private let unhandledEventHandlers = NIOLockedValueBox<[UnhandledEventHandler]>([])

    init(name: String, adapter: any Adapter, parent: Namespace? = nil, matcher: (@Sendable (String) -> Bool)? = nil) {
        self.name = name
        self.adapter = adapter
        self.parent = parent
        self.matcher = matcher
    }

    /// Adds a connect middleware; they run in order before a socket connects.
    public func use(_ middleware: @escaping Middleware) {
        self.middlewares.withLockedValue { $0.append(.sync(middleware)) }
    }

    /// Adds an asynchronous connect middleware.
    public func use(_ middleware: @escaping AsyncMiddleware) {
        self.middlewares.withLockedValue { $0.append(.async(middleware)) }
    }

    /// Runs `handler` for every socket that connects (on the socket's event loop).
    public func onConnection(_ handler: @escaping ConnectionHandler) {
        self.connectionHandlers.withLockedValue { $0.append(handler) }
    }

    /// Handles `event` from every socket of the namespace, after the socket's own handlers. Cheaper
    /// than registering the same handler on each socket: it is stored once.
    public func on(_ event: String, _ handler: @escaping EventHandler) {
        self.eventHandlers.withLockedValue { $0[event, default: []].append(handler) }
    }

    /// Runs `handler` for every event of the namespace's sockets that no named handler takes (neither
    /// the socket's ``Socket/on(_:_:)`` nor the namespace's ``on(_:_:)``): an application with an open
    /// set of event names routes them here, and can answer an ack for an event it does not know
    /// instead of leaving the client waiting.
    public func onUnhandledEvent(_ handler: @escaping UnhandledEventHandler) {
        self.unhandledEventHandlers.withLockedValue { $0.append(handler) }
    }

    /// The unhandled-event handlers: this namespace's, then the parent's.
    var effectiveUnhandledEventHandlers: [UnhandledEventHandler] {
        let own = self.unhandledEventHandlers.withLockedValue { $0 }
        guard let parent = self.parent else { return own }
        return own + parent.effectiveUnhandledEventHandlers
    }

    /// Runs `handler` when any socket of the namespace is about to disconnect (rooms still known).
    public func onDisconnecting(_ handler: @escaping DisconnectingHandler) {
        self.disconnectingHandlers.withLockedValue { $0.append(handler) }
    }

    /// The namespace-wide handlers for `event`: this namespace's, then the parent's.
    func handlers(for event: String) -> [EventHandler] {
        let own = self.eventHandlers.withLockedValue { $0[event] } ?? []
        // Per event: no concatenation (an allocation) unless there is a parent.
        guard let parent = self.parent else { return own }
        return own + parent.handlers(for: event)
    }

    /// The disconnecting handlers: this namespace's, then the parent's.
    var effectiveDisconnectingHandlers: [DisconnectingHandler] {
        self.disconnectingHandlers.withLockedValue { $0 } + (self.parent?.effectiveDisconnectingHandlers ?? [])
    }

    /// A broadcast to every socket of the namespace.
    public var broadcast: BroadcastOperator { BroadcastOperator(namespace: self) }
    /// A broadcast to the members of `room`.
    public func to(_ room: String) -> BroadcastOperator { BroadcastOperator(namespace: self).to(room) }
    /// Same as ``to(_:)``.
    public func `in`(_ room: String) -> BroadcastOperator { self.to(room) }
    /// A broadcast to every socket but the members of `room`.
    public func except(_ room: String) -> BroadcastOperator { BroadcastOperator(namespace: self).except(room) }
    /// A broadcast that drops packets for clients that cannot take them now.
    public var volatile: BroadcastOperator { BroadcastOperator(namespace: self).volatile }

    /// Sends `event` to every socket of the namespace (and, for a dynamic namespace, of its children).
    public func emit(_ event: String, _ arguments: JSONValue...) {
        BroadcastOperator(namespace: self).emit(event, arguments: arguments)
    }

    /// The ids of the connected sockets.
    public func socketIDs() async throws -> [String] {
        try await BroadcastOperator(namespace: self).socketIDs()
    }

    /// The middlewares a connection runs: the parent's, then this namespace's own.
    var effectiveMiddlewares: [AnyMiddleware] {
        (self.parent?.effectiveMiddlewares ?? []) + self.middlewares.withLockedValue { $0 }
    }

    /// The connection handlers to run: this namespace's, then the parent's.
    var effectiveConnectionHandlers: [ConnectionHandler] {
        self.connectionHandlers.withLockedValue { $0 } + (self.parent?.effectiveConnectionHandlers ?? [])
    }

    /// The children of a dynamic parent namespace (empty for others).
    var childNamespaces: [Namespace] {
        self.children.withLockedValue { $0 }
    }

    func addChild(_ child: Namespace) {
        self.children.withLockedValue { $0.append(child) }
    }
}

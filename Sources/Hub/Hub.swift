import EngineIO
import Foundation
import Logging
import NIOCore
import SocketIO

/// RealtimeHub: a Socket.IO server with token auth, chat/monitoring/admin channels, an event
/// broadcaster with per-room history, the status and publish HTTP API, and the /stream gateway —
/// built on the SocketIO module's public API.
///
/// ```swift
/// let hub = try Hub(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
/// let http = HTTPServer(configuration: .init(host: hub.configuration.host, port: hub.configuration.port),
///                       endpoints: hub.endpoints, group: group, logger: logger)
/// try await http.start()
/// try await hub.broadcaster.alert(level: .warning, message: "disk 91% full", source: "node-3")
/// ```
public final class Hub: Sendable {
    /// The settings in force (dev mode may have changed `host` to 127.0.0.1).
    public let configuration: HubConfiguration
    /// The Socket.IO server.
    public let io: SocketIOServer
    /// Validates connect payloads and API bearer tokens.
    public let authenticator: TokenAuthenticator
    /// Per-room event history.
    public let history: EventHistory
    /// Routes events into rooms.
    public let broadcaster: EventBroadcaster
    /// Which events may be published, by whom, and which are kept in history.
    public let eventRules: EventRules
    /// The publish API's per-principal rate limit.
    let apiRateLimiter: PrincipalRateLimiter
    /// The per-socket inbound rate limit.
    let eventRateLimit: RateLimit
    /// The allowed origins (`cors`), for the Engine.IO endpoint, the HTTP API and the SSE gateway;
    /// `nil` when none are configured (no CORS headers).
    public let cors: CORSConfiguration?
    /// Counters for the status API.
    public let stats: HubStats
    /// The `/stream` gateway's open connections and subscriptions on this node.
    public let streamStats = StreamStats()
    /// The Prometheus metrics served at `GET /metrics` (a registry of the hub's own).
    public let metrics: HubMetrics
    /// The open `/sse` event streams of this node.
    public let sseStats = SSEStats()
    /// The link to the other nodes through Redis, when `redisURL` is configured.
    public let cluster: HubCluster?
    /// The admin token generated in dev mode (no JWT secret, public key or JWKS, and no static
    /// tokens configured).
    public let devModeToken: String?
    let logger: Logger

    /// The hub's version, reported by the status API.
    public static let version = "0.1.0"

    /// Creates the hub: namespaces, auth middleware and channel handlers are installed here.
    public init(configuration: HubConfiguration, group: EventLoopGroup, logger: Logger) throws {
        try configuration.validate()
        var configuration = configuration
        var tokens = configuration.staticTokens
        var devModeToken: String? = nil
        if !configuration.hasJWTKeys && tokens.isEmpty {
            let token = "dev-" + SessionID.make() + SessionID.make()
            tokens.append(StaticToken(token: token, user: "dev-admin", roles: [.admin], rooms: nil))
            devModeToken = token
            configuration.host = "127.0.0.1"
        }
        self.configuration = configuration
        self.devModeToken = devModeToken
        self.logger = logger
        self.authenticator = try TokenAuthenticator(configuration: configuration.tokenAuthenticatorConfiguration(),
                                                    staticTokens: tokens, logger: logger)
        self.cors = Self.cors(from: configuration)
        self.apiRateLimiter = PrincipalRateLimiter(limit: RateLimit(rate: Double(configuration.apiRateLimit), burst: configuration.apiRateBurst))
        self.eventRateLimit = RateLimit(rate: Double(configuration.eventRateLimit), burst: configuration.eventRateBurst)
        let cluster = Self.makeCluster(configuration: configuration, group: group, logger: logger)
        self.cluster = cluster
        let socketIOConfiguration = Self.socketIOConfiguration(from: configuration)
        self.io = SocketIOServer(configuration: socketIOConfiguration, group: group, logger: logger,
                                 adapterFactory: cluster?.adapterFactory(recovery: socketIOConfiguration.connectionStateRecovery))
        var historyBounds = EventHistory.Configuration(capacityPerRoom: configuration.historySize)
        historyBounds.maxRooms = configuration.historyMaxRooms
        historyBounds.maxBytes = configuration.historyMaxBytes
        historyBounds.ttl = configuration.historyTTL > 0 ? .milliseconds(Int64(configuration.historyTTL)) : nil
        self.history = EventHistory(configuration: historyBounds)
        self.eventRules = EventRules(userEvents: Set(configuration.userEvents.map { ExactName($0) }),
                                     ephemeralEvents: Set(configuration.ephemeralEvents.map { ExactName($0) }))
        self.stats = HubStats()
        self.metrics = HubMetrics()
        self.broadcaster = EventBroadcaster(io: self.io, eventLoop: group.any(), history: self.history, stats: self.stats,
                                            rules: self.eventRules, cluster: cluster)
        HubChannels(hub: self).install()
        self.startCluster()
        self.startHistorySweep(on: group.any())
    }

    static func socketIOConfiguration(from configuration: HubConfiguration) -> SocketIOConfiguration {
        var engine = EngineConfiguration(path: configuration.path)
        engine.pingInterval = .milliseconds(Int64(configuration.pingInterval))
        engine.pingTimeout = .milliseconds(Int64(configuration.pingTimeout))
        engine.upgradeTimeout = .milliseconds(Int64(configuration.upgradeTimeout))
        engine.maxHttpBufferSize = configuration.maxHttpBufferSize
        engine.transports = Set(configuration.transports.compactMap(EngineTransportKind.init(rawValue:)))
        engine.allowUpgrades = configuration.allowUpgrades
        engine.cookie = configuration.cookie.map { EngineCookie(name: $0) }
        engine.maxConnections = configuration.maxConnections
        engine.maxConnectionsPerIP = configuration.maxConnectionsPerIP
        engine.cors = Self.cors(from: configuration)
        var socketIO = SocketIOConfiguration(engine: engine)
        socketIO.connectTimeout = .milliseconds(Int64(configuration.connectTimeout))
        // Bench mode measures the protocol path as the peers run it: without a recovery log.
        if !configuration.bench {
            var recovery = ConnectionStateRecovery()
            recovery.maxDisconnectionDuration = .milliseconds(Int64(configuration.maxDisconnectionDuration))
            // A reconnect re-validates its token: recovered connections run the auth middleware too.
            recovery.skipMiddlewares = false
            socketIO.connectionStateRecovery = recovery
        }
        return socketIO
    }

    /// Drops idle room histories (`historyTTL`) every quarter TTL, at least every second and at most
    /// every minute, for the hub's life.
    private func startHistorySweep(on eventLoop: EventLoop) {
        guard let ttl = self.history.configuration.ttl else { return }
        let interval = TimeAmount.nanoseconds(min(max(ttl.nanoseconds / 4, 1_000_000_000), 60_000_000_000))
        let history = self.history
        eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            history.sweep()
        }
    }

    static func cors(from configuration: HubConfiguration) -> CORSConfiguration? {
        guard !configuration.corsOrigins.isEmpty else { return nil }
        return CORSConfiguration(allowedOrigins: configuration.corsOrigins, allowCredentials: configuration.corsCredentials)
    }

    /// What the HTTP server serves, in matching order: the HTTP API (`/api/…`, `/healthz`,
    /// `/metrics`), the Engine.IO endpoint, the `/stream` gateway and the `/sse` gateway.
    public var endpoints: [any HTTPEndpoint] {
        [HubAPIEndpoint(hub: self), self.io.engine, StreamEndpoint(hub: self), SSEEndpoint(hub: self)]
    }

    /// The principal a socket authenticated as.
    public static func principal(of socket: Socket) -> Principal? {
        socket.userInfo[principalKey] as? Principal
    }

    static let principalKey = "hub.principal"
}

import ArgumentParser
import EngineIO
import Foundation
import Hub
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `hub serve` (the default): the hub on one port. Settings come from flags, then `HUB_*`
/// environment variables, then the JSON file of `--config` / `HUB_CONFIG`, then defaults.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the hub (the default).")

    @Option(help: "JSON configuration file (or HUB_CONFIG).") var config: String?
    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (default 3000).") var port: Int?
    @Option(help: "Engine.IO path (default /socket.io/).") var path: String?
    @Option(name: .customLong("cors-origin"), help: "An allowed CORS origin (repeatable; * for any).") var corsOrigins: [String] = []
    @Option(help: "pingInterval in milliseconds (default 25000).") var pingInterval: Int?
    @Option(help: "pingTimeout in milliseconds (default 20000).") var pingTimeout: Int?
    @Option(help: "maxHttpBufferSize in bytes (default 1000000).") var maxHttpBufferSize: Int?
    @Option(help: "HS256 secret for JWTs (or HUB_JWT_SECRET).") var jwtSecret: String?
    @Option(help: "PEM public key file verifying identity-provider JWTs (or HUB_JWT_PUBLIC_KEY_FILE).") var jwtPublicKeyFile: String?
    @Option(name: .customLong("jwks-url"), help: "JWKS file path or http(s):// URL (or HUB_JWKS_URL).") var jwksURL: String?
    @Option(help: "Required JWT iss (or HUB_JWT_ISSUER).") var jwtIssuer: String?
    @Option(help: "Required JWT aud (or HUB_JWT_AUDIENCE).") var jwtAudience: String?
    @Option(help: "Events kept per room (default 1000).") var historySize: Int?
    @Option(help: "historyTTL in milliseconds: a room's history is dropped after this long without an event, 0 never (default 86400000).") var historyTTL: Int?
    @Option(help: "maxRoomsPerSocket: rooms one socket may join (default 100).") var maxRoomsPerSocket: Int?
    @Option(help: "eventRateLimit: events per second one socket may send (default 200).") var eventRateLimit: Int?
    @Option(help: "eventRateBurst: events one socket may send at once (default 400).") var eventRateBurst: Int?
    @Option(help: "apiRateLimit: publish requests per second per token subject (default 1000).") var apiRateLimit: Int?
    @Option(help: "apiRateBurst: publish requests at once per token subject (default 2000).") var apiRateBurst: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String?
    @Option(help: "maxConnections: Engine.IO sessions open at once, 0 for no limit (default 100000).") var maxConnections: Int?
    @Option(name: .customLong("max-connections-per-ip"), help: "maxConnectionsPerIP: sessions per client address, 0 for no limit (default 0).") var maxConnectionsPerIP: Int?
    @Option(help: "shutdownTimeout in milliseconds: how long SIGTERM may drain clients (default 10000).") var shutdownTimeout: Int?
    @Option(help: "Redis shared by the hub's nodes, redis://host:port/db (or HUB_REDIS_URL); none: one process.") var redisURL: String?
    @Option(help: "Sticky-session cookie on the polling handshake: a name, true (io) or false (default).") var cookie: String?
    @Option(name: .customLong("user-event"), help: "An event users and monitors may emit (repeatable; default chat_message, typing_indicator).") var userEvents: [String] = []
    @Option(name: .customLong("ephemeral-event"), help: "An event not kept in history (repeatable; default message_delta, typing_indicator).") var ephemeralEvents: [String] = []
    @Flag(name: .customLong("no-log-connections"), help: "Do not log connects and disconnects at info level.") var noLogConnections = false
    @Flag(help: "Serve the benchmark handlers; / accepts connections without a token (benchmarking only).") var bench = false

    func run() async throws {
        var overrides = HubConfiguration.Overrides()
        overrides.host = self.host
        overrides.port = self.port
        overrides.path = self.path
        overrides.corsOrigins = self.corsOrigins.isEmpty ? nil : self.corsOrigins
        overrides.pingInterval = self.pingInterval
        overrides.pingTimeout = self.pingTimeout
        overrides.maxHttpBufferSize = self.maxHttpBufferSize
        overrides.jwtSecret = self.jwtSecret
        overrides.jwtPublicKeyFile = self.jwtPublicKeyFile
        overrides.jwksURL = self.jwksURL
        overrides.jwtIssuer = self.jwtIssuer
        overrides.jwtAudience = self.jwtAudience
        overrides.historySize = self.historySize
        overrides.historyTTL = self.historyTTL
        overrides.maxRoomsPerSocket = self.maxRoomsPerSocket
        overrides.eventRateLimit = self.eventRateLimit
        overrides.eventRateBurst = self.eventRateBurst
        overrides.apiRateLimit = self.apiRateLimit
        overrides.apiRateBurst = self.apiRateBurst
        overrides.logLevel = self.logLevel
        overrides.bench = self.bench ? true : nil
        overrides.redisURL = self.redisURL
        overrides.cookie = self.cookie
        overrides.maxConnections = self.maxConnections
        overrides.maxConnectionsPerIP = self.maxConnectionsPerIP
        overrides.shutdownTimeout = self.shutdownTimeout
        overrides.userEvents = self.userEvents.isEmpty ? nil : self.userEvents
        overrides.ephemeralEvents = self.ephemeralEvents.isEmpty ? nil : self.ephemeralEvents
        overrides.logConnections = self.noLogConnections ? false : nil
        let configuration: HubConfiguration
        do {
            configuration = try HubConfiguration.load(
                configFile: self.config, environment: ProcessInfo.processInfo.environment, overrides: overrides)
        } catch {
            throw ValidationError("\(error)")
        }

        var logger = Logger(label: "hub")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let group = MultiThreadedEventLoopGroup.singleton
        let hub = try Hub(configuration: configuration, group: group, logger: logger)
        let http = HTTPServer(configuration: hub.configuration.httpServerConfiguration,
                              endpoints: hub.endpoints, group: group, logger: logger, refusals: hub.io.engine.refusals)
        if let token = hub.devModeToken {
            Self.printDevModeBanner(token: token, port: hub.configuration.port)
        }
        let service = HTTPServerService(server: http, engines: [hub.io.engine], logger: logger,
                                        shutdownTimeout: .milliseconds(Int64(hub.configuration.shutdownTimeout)))
        try await ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        await hub.shutdown()
    }

    /// Dev mode: no JWT secret and no static tokens are configured, so the hub made an admin token.
    /// It is printed once, to standard output, never to the log.
    static func printDevModeBanner(token: String, port: Int) {
        print("""
        RealtimeHub dev mode: no jwtSecret, public key, JWKS or tokens configured; listening on 127.0.0.1 only.
        Admin token (printed once): \(token)
          curl -H 'Authorization: Bearer \(token)' http://127.0.0.1:\(port)/api/websocket/status
        """)
        // Reach a pipe or a log file now, not at exit (fflush(NULL) flushes every output stream).
        fflush(nil)
    }
}

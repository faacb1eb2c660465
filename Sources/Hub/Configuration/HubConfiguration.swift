import Logging

/// Every hub setting, with socket.io's option names where one exists.
///
/// Durations are in milliseconds, as in socket.io. ``load(configFile:environment:overrides:)``
/// builds a validated configuration from defaults, a JSON file, `HUB_*` environment variables and
/// command-line flags; Docs/configuration.md lists every setting.
public struct HubConfiguration: Sendable {
    /// The address to listen on. Default `127.0.0.1`.
    public var host = "127.0.0.1"
    /// The TCP port; `0` picks a free one. Default `3000`.
    public var port = 3000
    /// The Engine.IO endpoint path. Default `/socket.io/`.
    public var path = "/socket.io/"
    /// Origins allowed to make cross-origin requests, such as `https://app.example.com`; `"*"`
    /// allows any. Default none (no CORS headers).
    public var corsOrigins: [String] = []
    /// Whether CORS responses allow credentials (cookies). Default `true`.
    public var corsCredentials = true
    /// Milliseconds between server pings. Default `25000`.
    public var pingInterval = 25_000
    /// Milliseconds to wait for a pong before closing. Default `20000`.
    public var pingTimeout = 20_000
    /// Milliseconds a transport upgrade may take. Default `10000`.
    public var upgradeTimeout = 10_000
    /// The largest message or polling body accepted, in bytes. Default `1000000`.
    public var maxHttpBufferSize = 1_000_000
    /// Milliseconds a connection may stay without joining a namespace. Default `45000`.
    public var connectTimeout = 45_000
    /// The transports offered: `polling`, `websocket`. Default both.
    public var transports: [String] = ["polling", "websocket"]
    /// Whether polling clients may upgrade to WebSocket. Default `true`.
    public var allowUpgrades = true
    /// The HS256 secret for JWTs (at least 32 bytes); `nil` disables JWTs. Default `nil`.
    public var jwtSecret: String? = nil
    /// A PEM public key file (RSA of 2048 bits or more, P-256, P-384 or Ed25519) that verifies
    /// JWTs signed by an identity provider; `nil` for none. Default `nil`.
    public var jwtPublicKeyFile: String? = nil
    /// A JSON Web Key Set: a file path or an `http://` / `https://` URL (fetched, cached, reloaded
    /// every `jwksRefreshInterval` and when a token names an unknown `kid`); `nil` for none.
    /// Default `nil`.
    public var jwksURL: String? = nil
    /// The algorithm pinned to `jwtPublicKeyFile`, and to JWKS keys that name no `alg`: `RS256`,
    /// `RS384`, `RS512`, `PS256`, `ES256`, `ES384` or `EdDSA`; `nil` (the default) infers it from the
    /// key (RSA → RS256, P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA).
    public var jwtKeyAlgorithm: String? = nil
    /// Milliseconds the JWKS keys are kept before they are reloaded. Default `300000` (5 minutes).
    public var jwksRefreshInterval = 300_000
    /// The `iss` every JWT must carry; `nil` (the default) does not check it.
    public var jwtIssuer: String? = nil
    /// A value every JWT's `aud` (a string or an array of strings) must contain; `nil` (the
    /// default) does not check it.
    public var jwtAudience: String? = nil
    /// Seconds of clock skew allowed when checking `exp` and `nbf`. Default `0`.
    public var jwtLeeway = 0
    /// The longest token accepted (JWT or static), in bytes; longer ones are refused with
    /// `"token too large"` before any work is done on them. Default `12288`.
    public var maxTokenLength = TokenAuthenticator.defaultMaxTokenLength
    /// Fixed tokens, for setups without JWT. Default none.
    public var staticTokens: [StaticToken] = []
    /// Events kept per room for history and replay. Default `1000`.
    public var historySize = 1000
    /// The most rooms keeping a history at once; past it the least recently published-to rooms'
    /// histories are dropped. Default `10000`.
    public var historyMaxRooms = 10_000
    /// The most bytes (an estimate) all kept events may take together; past it the least recently
    /// published-to rooms' histories are dropped. Default `268435456` (256 MiB).
    public var historyMaxBytes = 256 << 20
    /// Milliseconds a room's history is kept without a new event (Centrifugo's `history_ttl`); `0`
    /// keeps idle histories until a bound evicts them. Default `86400000` (24 h).
    public var historyTTL = 86_400_000
    /// The most rooms one socket may be in (its own room aside); a `join_room` past it is answered
    /// `{"ok":false,"error":"too many rooms"}` (Centrifugo's `client_channel_limit`). Default `100`.
    public var maxRoomsPerSocket = 100
    /// Events per second one socket may send the hub (joins, leaves, publishes; sustained). Past it an
    /// event is acked `{"ok":false,"error":"rate limited"}`; a whole burst refused in a row
    /// disconnects the socket. Default `200`.
    public var eventRateLimit = 200
    /// Events one socket may send at once after a quiet time. Default `400`.
    public var eventRateBurst = 400
    /// Requests per second one principal (token `sub`) may make to `POST /api/broadcast` and
    /// `POST /api/alerts` (sustained); past it **429**. Default `1000`.
    public var apiRateLimit = 1000
    /// Publish requests one principal may make at once after a quiet time. Default `2000`.
    public var apiRateBurst = 2000
    /// Milliseconds before a connection's token expires that it is told (`token_expiring` on
    /// Socket.IO, `{"type":"token_expiring"}` on `/stream`), so it can refresh in place; `0` sends
    /// no warning. At the expiry the connection is closed. Default `30000`.
    public var tokenExpiryWarning = 30_000
    /// Milliseconds a disconnected client's state is kept for connection-state recovery.
    /// Default `120000` (socket.io's two minutes).
    public var maxDisconnectionDuration = 120_000
    /// Milliseconds a `/stream` client has to send its authentication message. Default `5000`.
    public var streamAuthTimeout = 5_000
    /// Milliseconds between the WebSocket pings the server sends on a `/stream` connection.
    /// Default `25000`.
    public var streamPingInterval = 25_000
    /// Milliseconds a `/stream` client has to answer a ping (with a pong, or any frame) before the
    /// connection is closed with 1001 `ping timeout`. Default `20000`.
    public var streamPingTimeout = 20_000
    /// Milliseconds between two heartbeat comments (`: ping`) on an `/sse` stream, which keep
    /// proxies from closing a quiet stream. Default `15000`.
    public var sseHeartbeatInterval = 15_000
    /// Bytes that may be written to an `/sse` stream while the client is not reading (its socket
    /// buffer over the high-water mark) before the stream is closed as a slow consumer.
    /// Default `1048576` (1 MiB).
    public var sseMaxBufferedBytes = 1 << 20
    /// The swift-log level: `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`.
    /// Default `info`.
    public var logLevel = "info"
    /// Benchmark mode (command line only). Default `false`.
    public var bench = false
    /// Whether each Socket.IO connect, refused connect and disconnect (and each `/stream` and SSE
    /// connection) is logged at info level. Default `true`.
    public var logConnections = true

    // The event space (Docs/events.md).

    /// Events roles user and monitor may emit from a socket (or `/stream`), into rooms they are in;
    /// services and admins may publish any valid name. Default `chat_message`, `typing_indicator`.
    public var userEvents: [String] = EventCatalogue.userPublishable.sorted()
    /// Events not kept in room history (no offset, no replay). Default `message_delta`,
    /// `typing_indicator`.
    public var ephemeralEvents: [String] = EventCatalogue.ephemeral.sorted()

    // Limits (Docs/reliability.md).

    /// The most Engine.IO sessions open at once (any transport); more are refused with 503.
    /// `0` means no limit. Default `100000`.
    public var maxConnections = 100_000
    /// The most Engine.IO sessions open at once from one client IP address; `0` (the default)
    /// means no limit (behind a reverse proxy every client has the proxy's address).
    public var maxConnectionsPerIP = 0
    /// The largest HTTP request head (request line and headers), in bytes; larger ones get 431.
    /// Default `16384`.
    public var maxHeaderSize = 16 * 1024
    /// Milliseconds from a request's first byte to the end of its head; slower ones get 408 and
    /// the connection is closed. Default `10000`.
    public var requestHeadTimeout = 10_000
    /// Milliseconds an HTTP connection may idle between requests before it is closed. Default
    /// `30000` (above pingInterval, so a polling client's POST connection stays open).
    public var keepAliveTimeout = 30_000
    /// Milliseconds a graceful shutdown (SIGTERM/SIGINT) may take to drain clients before the
    /// rest are cut off. Default `10000`.
    public var shutdownTimeout = 10_000

    // Scale-out (Docs/deployment.md).

    /// The Redis server the hub's nodes share, `redis://[user[:password]@]host[:port][/db]`: with
    /// it, broadcasts, /stream events, room history and the status span every node. `nil` (the
    /// default) keeps the hub on one process with the in-memory adapter.
    public var redisURL: String? = nil
    /// Milliseconds between two reports of this node's counts to Redis (with `redisURL`); a report
    /// expires after three intervals, so a stopped node leaves the cluster status. Default `5000`.
    public var clusterStatusInterval = 5_000
    /// The name of the sticky-session cookie set on the Engine.IO polling handshake (socket.io's
    /// `cookie` option: value the session id, `Path=/`, `HttpOnly`, `SameSite=Lax`); `nil` (the
    /// default, as in socket.io 3 and later) sets none.
    public var cookie: String? = nil

    /// Creates a configuration with the defaults.
    public init() {}

    /// The transports that exist.
    static let knownTransports: Set<String> = ["polling", "websocket"]
    /// The longest duration accepted, in milliseconds: the largest JavaScript timer delay
    /// (about 24.8 days).
    static let maxDuration = 2_147_483_647
    /// The shortest JWT secret accepted, in UTF-8 bytes (RFC 7518 §3.2: at least the hash size).
    static let minJWTSecretBytes = 32
    /// The smallest `maxHeaderSize` accepted, in bytes (a browser's ordinary request head fits).
    static let minHeaderSize = 1024
    /// The most clock skew accepted for `jwtLeeway`, in seconds.
    static let maxJWTLeeway = 600
    /// The shortest `maxTokenLength` accepted, in bytes.
    static let minTokenLength = 256
    /// The shortest `jwksRefreshInterval` accepted, in milliseconds.
    static let minJWKSRefreshInterval = 1_000
    /// The shortest static token accepted, in characters.
    static let minStaticTokenLength = 16

    /// Checks every value; throws a ``HubConfigurationError`` naming the setting's file key.
    ///
    /// Rules: `host` non-empty; `port` in 0...65535; `path` starts with `/`; CORS origins
    /// non-empty; durations in 1...2147483647 ms (`historyTTL` may be 0); `maxHttpBufferSize`,
    /// `sseMaxBufferedBytes`, `historySize`, `historyMaxRooms`, `historyMaxBytes`, `maxRoomsPerSocket`
    /// and the rate limits and bursts at least 1;
    /// `transports` a non-empty list of distinct `polling` / `websocket`; `jwtSecret`, if set, at
    /// least 32 bytes; the JWT settings as ``validateJWT()`` says; tokens with a `token` of at least 16 characters, distinct, and a non-empty
    /// `user`; `userEvents` and `ephemeralEvents` publishable event names (``EventRules``);
    /// `logLevel` a swift-log level.
    public func validate() throws {
        func fail(_ key: String, _ problem: String) -> HubConfigurationError {
            HubConfigurationError(key: key, problem: problem)
        }

        if self.host.isEmpty {
            throw fail("host", "must not be empty")
        }
        guard (0...65_535).contains(self.port) else {
            throw fail("port", "must be between 0 and 65535, got \(self.port)")
        }
        guard self.path.hasPrefix("/") else {
            throw fail("path", "must start with \"/\"")
        }
        for (index, origin) in self.corsOrigins.enumerated() where origin.isEmpty {
            throw fail("cors.origin[\(index)]", "must not be empty")
        }

        let durations: [(String, Int)] = [
            ("pingInterval", self.pingInterval),
            ("pingTimeout", self.pingTimeout),
            ("upgradeTimeout", self.upgradeTimeout),
            ("connectTimeout", self.connectTimeout),
            ("connectionStateRecovery.maxDisconnectionDuration", self.maxDisconnectionDuration),
            ("streamAuthTimeout", self.streamAuthTimeout),
            ("streamPingInterval", self.streamPingInterval),
            ("streamPingTimeout", self.streamPingTimeout),
            ("requestHeadTimeout", self.requestHeadTimeout),
            ("keepAliveTimeout", self.keepAliveTimeout),
            ("shutdownTimeout", self.shutdownTimeout),
            ("clusterStatusInterval", self.clusterStatusInterval),
            ("sseHeartbeatInterval", self.sseHeartbeatInterval),
            ("jwksRefreshInterval", self.jwksRefreshInterval),
        ]
        for (key, value) in durations where !(1...Self.maxDuration).contains(value) {
            throw fail(key, "must be between 1 and \(Self.maxDuration) milliseconds, got \(value)")
        }
        guard self.maxHttpBufferSize >= 1 else {
            throw fail("maxHttpBufferSize", "must be at least 1, got \(self.maxHttpBufferSize)")
        }
        guard self.sseMaxBufferedBytes >= 1 else {
            throw fail("sseMaxBufferedBytes", "must be at least 1, got \(self.sseMaxBufferedBytes)")
        }
        guard self.maxConnections >= 0 else {
            throw fail("maxConnections", "must be 0 (no limit) or more, got \(self.maxConnections)")
        }
        guard self.maxConnectionsPerIP >= 0 else {
            throw fail("maxConnectionsPerIP", "must be 0 (no limit) or more, got \(self.maxConnectionsPerIP)")
        }
        guard self.maxHeaderSize >= Self.minHeaderSize else {
            throw fail("maxHeaderSize", "must be at least \(Self.minHeaderSize), got \(self.maxHeaderSize)")
        }
        try self.validateCluster()
        guard self.historySize >= 1 else {
            throw fail("historySize", "must be at least 1, got \(self.historySize)")
        }
        for (key, value) in [("historyMaxRooms", self.historyMaxRooms), ("historyMaxBytes", self.historyMaxBytes),
                             ("maxRoomsPerSocket", self.maxRoomsPerSocket), ("eventRateLimit", self.eventRateLimit),
                             ("eventRateBurst", self.eventRateBurst), ("apiRateLimit", self.apiRateLimit),
                             ("apiRateBurst", self.apiRateBurst)] where value < 1 {
            throw fail(key, "must be at least 1, got \(value)")
        }
        guard (0...Self.maxDuration).contains(self.tokenExpiryWarning) else {
            throw fail("tokenExpiryWarning", "must be between 0 (no warning) and \(Self.maxDuration) milliseconds, got \(self.tokenExpiryWarning)")
        }
        guard (0...Self.maxDuration).contains(self.historyTTL) else {
            throw fail("historyTTL", "must be between 0 (no TTL) and \(Self.maxDuration) milliseconds, got \(self.historyTTL)")
        }

        guard !self.transports.isEmpty else {
            throw fail("transports", "must name at least one transport")
        }
        for (index, transport) in self.transports.enumerated() {
            guard Self.knownTransports.contains(transport) else {
                throw fail("transports[\(index)]", "unknown transport \"\(transport)\" (expected polling or websocket)")
            }
            guard !self.transports[..<index].contains(transport) else {
                throw fail("transports[\(index)]", "\"\(transport)\" is listed twice")
            }
        }

        if let jwtSecret = self.jwtSecret, jwtSecret.utf8.count < Self.minJWTSecretBytes {
            throw fail("jwtSecret", "must be at least \(Self.minJWTSecretBytes) bytes long (HS256 key)")
        }
        try self.validateJWT()
        for (index, token) in self.staticTokens.enumerated() {
            guard token.token.count >= Self.minStaticTokenLength else {
                throw fail("tokens[\(index)].token", "must be at least \(Self.minStaticTokenLength) characters long")
            }
            if let first = self.staticTokens[..<index].firstIndex(where: { $0.token == token.token }) {
                throw fail("tokens[\(index)].token", "same token as tokens[\(first)]")
            }
            guard !token.user.isEmpty else {
                throw fail("tokens[\(index)].user", "must not be empty")
            }
            for (roomIndex, room) in (token.rooms ?? []).enumerated() where room.isEmpty {
                throw fail("tokens[\(index)].rooms[\(roomIndex)]", "must not be empty")
            }
        }

        for (key, names) in [("userEvents", self.userEvents), ("ephemeralEvents", self.ephemeralEvents)] {
            for (index, name) in names.enumerated() {
                if let reason = EventRules.unpublishableReason(name) {
                    throw fail("\(key)[\(index)]", "\(reason): \"\(name)\"")
                }
            }
        }

        guard Logger.Level(rawValue: self.logLevel) != nil else {
            let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("logLevel", "unknown level \"\(self.logLevel)\" (expected one of \(levels))")
        }
    }
}

extension HubConfiguration {
    /// Values given on the command line; `nil` means the flag was not given.
    public struct Overrides: Sendable {
        /// `--host`.
        public var host: String?
        /// `--port`.
        public var port: Int?
        /// `--path`.
        public var path: String?
        /// `--cors-origin`, repeatable.
        public var corsOrigins: [String]?
        /// `--ping-interval`, in milliseconds.
        public var pingInterval: Int?
        /// `--ping-timeout`, in milliseconds.
        public var pingTimeout: Int?
        /// `--max-http-buffer-size`, in bytes.
        public var maxHttpBufferSize: Int?
        /// `--jwt-secret`.
        public var jwtSecret: String?
        /// `--jwt-public-key-file`.
        public var jwtPublicKeyFile: String?
        /// `--jwks-url`: a JWKS file path or `http(s)://` URL.
        public var jwksURL: String?
        /// `--jwt-issuer`.
        public var jwtIssuer: String?
        /// `--jwt-audience`.
        public var jwtAudience: String?
        /// `--history-size`.
        public var historySize: Int?
        /// `--history-ttl`, in milliseconds.
        public var historyTTL: Int?
        /// `--max-rooms-per-socket`.
        public var maxRoomsPerSocket: Int?
        /// `--event-rate-limit`.
        public var eventRateLimit: Int?
        /// `--event-rate-burst`.
        public var eventRateBurst: Int?
        /// `--api-rate-limit`.
        public var apiRateLimit: Int?
        /// `--api-rate-burst`.
        public var apiRateBurst: Int?
        /// `--log-level`.
        public var logLevel: String?
        /// `--bench`.
        public var bench: Bool?
        /// `--redis-url`.
        public var redisURL: String?
        /// `--cookie`: a cookie name, or `true` / `false`.
        public var cookie: String?
        /// `--max-connections`.
        public var maxConnections: Int?
        /// `--max-connections-per-ip`.
        public var maxConnectionsPerIP: Int?
        /// `--shutdown-timeout`, in milliseconds.
        public var shutdownTimeout: Int?
        /// `--user-event`, repeatable.
        public var userEvents: [String]?
        /// `--ephemeral-event`, repeatable.
        public var ephemeralEvents: [String]?
        /// `--no-log-connections` (false).
        public var logConnections: Bool?

        /// Creates overrides with nothing given.
        public init() {}
    }
}

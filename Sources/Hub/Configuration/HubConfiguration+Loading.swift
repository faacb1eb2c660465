import Foundation
import SocketIO

extension HubConfiguration {
    /// Builds a configuration: the defaults, then the JSON file, then `HUB_*` environment variables,
    /// then the command-line overrides (flags win over environment, environment over file, file over
    /// defaults); the result is checked with ``validate()`` before it is returned.
    ///
    /// - Parameters:
    ///   - configFile: The JSON file (`--config`); when `nil`, `HUB_CONFIG` names it; when that is
    ///     unset or empty too, no file is read.
    ///   - environment: The process environment, usually `ProcessInfo.processInfo.environment`.
    ///     Empty variables count as unset; `HUB_*` variables the hub does not know are ignored (other
    ///     tools use the prefix too).
    ///   - overrides: The command-line flags.
    /// - Throws: ``HubConfigurationError`` naming the file, key or variable at fault: an unreadable
    ///   or invalid file, an unknown key, a value of the wrong type, a variable that is not a number,
    ///   or a value ``validate()`` refuses.
    public static func load(
        configFile: String?,
        environment: [String: String],
        overrides: Overrides
    ) throws -> HubConfiguration {
        var configuration = HubConfiguration()
        if let path = configFile ?? environment["HUB_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            try configuration.apply(fileAt: path)
        }
        try configuration.apply(environment: environment)
        configuration.apply(overrides)
        try configuration.validate()
        return configuration
    }

    // MARK: - File

    /// Reads the JSON file at `path` and applies its keys.
    mutating func apply(fileAt path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HubConfigurationError(key: path, problem: "cannot read the configuration file (\(error.localizedDescription))")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw HubConfigurationError(key: path, problem: "not UTF-8 text")
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(text)
        } catch {
            throw HubConfigurationError(key: path, problem: "invalid JSON (\(error))")
        }
        guard let object = root.objectValue else {
            throw HubConfigurationError(key: path, problem: "must contain a JSON object")
        }
        try self.apply(file: object)
    }

    /// Applies the keys of a parsed configuration file. `_comment` keys are ignored at any level;
    /// any other unknown key is an error.
    mutating func apply(file object: JSONObject) throws {
        for (key, value) in object {
            switch key {
            case "_comment": continue
            case "host": self.host = try Self.string(value, key)
            case "port": self.port = try Self.int(value, key)
            case "path": self.path = try Self.string(value, key)
            case "cors": try self.apply(cors: value)
            case "pingInterval": self.pingInterval = try Self.int(value, key)
            case "pingTimeout": self.pingTimeout = try Self.int(value, key)
            case "upgradeTimeout": self.upgradeTimeout = try Self.int(value, key)
            case "maxHttpBufferSize": self.maxHttpBufferSize = try Self.int(value, key)
            case "connectTimeout": self.connectTimeout = try Self.int(value, key)
            case "transports": self.transports = try Self.strings(value, key)
            case "allowUpgrades": self.allowUpgrades = try Self.bool(value, key)
            case "jwtSecret": self.jwtSecret = value.isNull ? nil : try Self.string(value, key)
            case "tokens": self.staticTokens = try Self.tokens(value, key)
            case "jwtPublicKeyFile": self.jwtPublicKeyFile = value.isNull ? nil : try Self.string(value, key)
            case "jwksURL": self.jwksURL = value.isNull ? nil : try Self.string(value, key)
            case "jwtKeyAlgorithm": self.jwtKeyAlgorithm = value.isNull ? nil : try Self.string(value, key)
            case "jwksRefreshInterval": self.jwksRefreshInterval = try Self.int(value, key)
            case "jwtIssuer": self.jwtIssuer = value.isNull ? nil : try Self.string(value, key)
            case "jwtAudience": self.jwtAudience = value.isNull ? nil : try Self.string(value, key)
            case "jwtLeeway": self.jwtLeeway = try Self.int(value, key)
            case "maxTokenLength": self.maxTokenLength = try Self.int(value, key)
            case "historySize": self.historySize = try Self.int(value, key)
            case "historyMaxRooms": self.historyMaxRooms = try Self.int(value, key)
            case "historyMaxBytes": self.historyMaxBytes = try Self.int(value, key)
            case "historyTTL": self.historyTTL = try Self.int(value, key)
            case "maxRoomsPerSocket": self.maxRoomsPerSocket = try Self.int(value, key)
            case "eventRateLimit": self.eventRateLimit = try Self.int(value, key)
            case "eventRateBurst": self.eventRateBurst = try Self.int(value, key)
            case "apiRateLimit": self.apiRateLimit = try Self.int(value, key)
            case "apiRateBurst": self.apiRateBurst = try Self.int(value, key)
            case "tokenExpiryWarning": self.tokenExpiryWarning = try Self.int(value, key)
            case "connectionStateRecovery": try self.apply(connectionStateRecovery: value)
            case "streamAuthTimeout": self.streamAuthTimeout = try Self.int(value, key)
            case "streamPingInterval": self.streamPingInterval = try Self.int(value, key)
            case "streamPingTimeout": self.streamPingTimeout = try Self.int(value, key)
            case "sseHeartbeatInterval": self.sseHeartbeatInterval = try Self.int(value, key)
            case "sseMaxBufferedBytes": self.sseMaxBufferedBytes = try Self.int(value, key)
            case "logLevel": self.logLevel = try Self.string(value, key)
            case "maxConnections": self.maxConnections = try Self.int(value, key)
            case "maxConnectionsPerIP": self.maxConnectionsPerIP = try Self.int(value, key)
            case "maxHeaderSize": self.maxHeaderSize = try Self.int(value, key)
            case "requestHeadTimeout": self.requestHeadTimeout = try Self.int(value, key)
            case "keepAliveTimeout": self.keepAliveTimeout = try Self.int(value, key)
            case "shutdownTimeout": self.shutdownTimeout = try Self.int(value, key)
            case "redisURL": self.redisURL = value.isNull ? nil : try Self.string(value, key)
            case "clusterStatusInterval": self.clusterStatusInterval = try Self.int(value, key)
            case "cookie": self.cookie = try Self.cookie(value, key)
            case "logConnections": self.logConnections = try Self.bool(value, key)
            case "userEvents": self.userEvents = try Self.strings(value, key)
            case "ephemeralEvents": self.ephemeralEvents = try Self.strings(value, key)
            default: throw HubConfigurationError(key: key, problem: "unknown setting")
            }
        }
    }

    /// `cors: {origin: string | [string], credentials: bool}`.
    private mutating func apply(cors value: JSONValue) throws {
        for (key, member) in try Self.object(value, "cors") {
            switch key {
            case "_comment": continue
            case "origin":
                if let origin = member.stringValue {
                    self.corsOrigins = [origin]
                } else {
                    self.corsOrigins = try Self.strings(member, "cors.origin", expected: "a string or an array of strings")
                }
            case "credentials": self.corsCredentials = try Self.bool(member, "cors.credentials")
            default: throw HubConfigurationError(key: "cors.\(key)", problem: "unknown setting")
            }
        }
    }

    /// `connectionStateRecovery: {maxDisconnectionDuration: ms}`.
    private mutating func apply(connectionStateRecovery value: JSONValue) throws {
        for (key, member) in try Self.object(value, "connectionStateRecovery") {
            switch key {
            case "_comment": continue
            case "maxDisconnectionDuration":
                self.maxDisconnectionDuration = try Self.int(member, "connectionStateRecovery.maxDisconnectionDuration")
            default: throw HubConfigurationError(key: "connectionStateRecovery.\(key)", problem: "unknown setting")
            }
        }
    }

    /// `tokens: [{token, user, roles, rooms}]`; `token`, `user` and `roles` are required, role
    /// names must be known.
    private static func tokens(_ value: JSONValue, _ key: String) throws -> [StaticToken] {
        guard let elements = value.arrayValue else {
            throw HubConfigurationError(key: key, problem: "must be an array of objects")
        }
        return try elements.enumerated().map { index, element in
            let prefix = "\(key)[\(index)]"
            var token: String?
            var user: String?
            var roles: [Role]?
            var rooms: [String]?
            for (member, memberValue) in try Self.object(element, prefix) {
                let memberKey = "\(prefix).\(member)"
                switch member {
                case "_comment": continue
                case "token": token = try Self.string(memberValue, memberKey)
                case "user": user = try Self.string(memberValue, memberKey)
                case "roles":
                    roles = try Self.strings(memberValue, memberKey).enumerated().map { roleIndex, name in
                        guard let role = Role(rawValue: name) else {
                            let known = Role.allCases.map(\.rawValue).joined(separator: ", ")
                            throw HubConfigurationError(
                                key: "\(memberKey)[\(roleIndex)]",
                                problem: "unknown role \"\(name)\" (expected one of \(known))"
                            )
                        }
                        return role
                    }
                case "rooms": rooms = memberValue.isNull ? nil : try Self.strings(memberValue, memberKey)
                default: throw HubConfigurationError(key: memberKey, problem: "unknown setting")
                }
            }
            guard let token else { throw HubConfigurationError(key: "\(prefix).token", problem: "is required") }
            guard let user else { throw HubConfigurationError(key: "\(prefix).user", problem: "is required") }
            guard let roles else { throw HubConfigurationError(key: "\(prefix).roles", problem: "is required") }
            return StaticToken(token: token, user: user, roles: roles, rooms: rooms)
        }
    }

    // MARK: - Environment

    /// Applies the `HUB_*` variables (empty ones count as unset).
    mutating func apply(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func int(_ name: String) throws -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw HubConfigurationError(key: name, problem: "must be an integer, got \"\(text)\"")
            }
            return number
        }

        if let host = value("HUB_HOST") { self.host = host }
        if let port = try int("HUB_PORT") { self.port = port }
        if let path = value("HUB_PATH") { self.path = path }
        if let origins = value("HUB_CORS_ORIGIN") { self.corsOrigins = Self.list(origins) }
        if let pingInterval = try int("HUB_PING_INTERVAL") { self.pingInterval = pingInterval }
        if let pingTimeout = try int("HUB_PING_TIMEOUT") { self.pingTimeout = pingTimeout }
        if let upgradeTimeout = try int("HUB_UPGRADE_TIMEOUT") { self.upgradeTimeout = upgradeTimeout }
        if let size = try int("HUB_MAX_HTTP_BUFFER_SIZE") { self.maxHttpBufferSize = size }
        if let connectTimeout = try int("HUB_CONNECT_TIMEOUT") { self.connectTimeout = connectTimeout }
        if let secret = value("HUB_JWT_SECRET") { self.jwtSecret = secret }
        if let path = value("HUB_JWT_PUBLIC_KEY_FILE") { self.jwtPublicKeyFile = path }
        if let url = value("HUB_JWKS_URL") { self.jwksURL = url }
        if let name = value("HUB_JWT_KEY_ALGORITHM") { self.jwtKeyAlgorithm = name }
        if let interval = try int("HUB_JWKS_REFRESH_INTERVAL") { self.jwksRefreshInterval = interval }
        if let issuer = value("HUB_JWT_ISSUER") { self.jwtIssuer = issuer }
        if let audience = value("HUB_JWT_AUDIENCE") { self.jwtAudience = audience }
        if let leeway = try int("HUB_JWT_LEEWAY") { self.jwtLeeway = leeway }
        if let length = try int("HUB_MAX_TOKEN_LENGTH") { self.maxTokenLength = length }
        if let historySize = try int("HUB_HISTORY_SIZE") { self.historySize = historySize }
        if let rooms = try int("HUB_HISTORY_MAX_ROOMS") { self.historyMaxRooms = rooms }
        if let bytes = try int("HUB_HISTORY_MAX_BYTES") { self.historyMaxBytes = bytes }
        if let ttl = try int("HUB_HISTORY_TTL") { self.historyTTL = ttl }
        if let rooms = try int("HUB_MAX_ROOMS_PER_SOCKET") { self.maxRoomsPerSocket = rooms }
        if let rate = try int("HUB_EVENT_RATE_LIMIT") { self.eventRateLimit = rate }
        if let burst = try int("HUB_EVENT_RATE_BURST") { self.eventRateBurst = burst }
        if let rate = try int("HUB_API_RATE_LIMIT") { self.apiRateLimit = rate }
        if let burst = try int("HUB_API_RATE_BURST") { self.apiRateBurst = burst }
        if let warning = try int("HUB_TOKEN_EXPIRY_WARNING") { self.tokenExpiryWarning = warning }
        if let duration = try int("HUB_MAX_DISCONNECTION_DURATION") { self.maxDisconnectionDuration = duration }
        if let timeout = try int("HUB_STREAM_AUTH_TIMEOUT") { self.streamAuthTimeout = timeout }
        if let interval = try int("HUB_STREAM_PING_INTERVAL") { self.streamPingInterval = interval }
        if let timeout = try int("HUB_STREAM_PING_TIMEOUT") { self.streamPingTimeout = timeout }
        if let interval = try int("HUB_SSE_HEARTBEAT_INTERVAL") { self.sseHeartbeatInterval = interval }
        if let size = try int("HUB_SSE_MAX_BUFFERED_BYTES") { self.sseMaxBufferedBytes = size }
        if let level = value("HUB_LOG_LEVEL") { self.logLevel = level }
        if let url = value("HUB_REDIS_URL") { self.redisURL = url }
        if let interval = try int("HUB_CLUSTER_STATUS_INTERVAL") { self.clusterStatusInterval = interval }
        if let cookie = value("HUB_COOKIE") { self.cookie = Self.cookie(environment: cookie) }
        if let limit = try int("HUB_MAX_CONNECTIONS") { self.maxConnections = limit }
        if let limit = try int("HUB_MAX_CONNECTIONS_PER_IP") { self.maxConnectionsPerIP = limit }
        if let size = try int("HUB_MAX_HEADER_SIZE") { self.maxHeaderSize = size }
        if let timeout = try int("HUB_REQUEST_HEAD_TIMEOUT") { self.requestHeadTimeout = timeout }
        if let timeout = try int("HUB_KEEP_ALIVE_TIMEOUT") { self.keepAliveTimeout = timeout }
        if let timeout = try int("HUB_SHUTDOWN_TIMEOUT") { self.shutdownTimeout = timeout }
        if let text = value("HUB_LOG_CONNECTIONS") {
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1", "yes", "on": self.logConnections = true
            case "false", "0", "no", "off": self.logConnections = false
            default: throw HubConfigurationError(key: "HUB_LOG_CONNECTIONS", problem: "must be true or false, got \"\(text)\"")
            }
        }
        if let names = value("HUB_USER_EVENTS") { self.userEvents = Self.list(names) }
        if let names = value("HUB_EPHEMERAL_EVENTS") { self.ephemeralEvents = Self.list(names) }
    }

    // MARK: - Command line

    /// Applies the flags that were given.
    mutating func apply(_ overrides: Overrides) {
        if let host = overrides.host { self.host = host }
        if let port = overrides.port { self.port = port }
        if let path = overrides.path { self.path = path }
        if let corsOrigins = overrides.corsOrigins { self.corsOrigins = corsOrigins }
        if let pingInterval = overrides.pingInterval { self.pingInterval = pingInterval }
        if let pingTimeout = overrides.pingTimeout { self.pingTimeout = pingTimeout }
        if let size = overrides.maxHttpBufferSize { self.maxHttpBufferSize = size }
        if let jwtSecret = overrides.jwtSecret { self.jwtSecret = jwtSecret }
        if let path = overrides.jwtPublicKeyFile { self.jwtPublicKeyFile = path }
        if let url = overrides.jwksURL { self.jwksURL = url }
        if let issuer = overrides.jwtIssuer { self.jwtIssuer = issuer }
        if let audience = overrides.jwtAudience { self.jwtAudience = audience }
        if let historySize = overrides.historySize { self.historySize = historySize }
        if let ttl = overrides.historyTTL { self.historyTTL = ttl }
        if let rooms = overrides.maxRoomsPerSocket { self.maxRoomsPerSocket = rooms }
        if let rate = overrides.eventRateLimit { self.eventRateLimit = rate }
        if let burst = overrides.eventRateBurst { self.eventRateBurst = burst }
        if let rate = overrides.apiRateLimit { self.apiRateLimit = rate }
        if let burst = overrides.apiRateBurst { self.apiRateBurst = burst }
        if let logLevel = overrides.logLevel { self.logLevel = logLevel }
        if let bench = overrides.bench { self.bench = bench }
        if let url = overrides.redisURL { self.redisURL = url }
        if let cookie = overrides.cookie { self.cookie = Self.cookie(environment: cookie) }
        if let limit = overrides.maxConnections { self.maxConnections = limit }
        if let limit = overrides.maxConnectionsPerIP { self.maxConnectionsPerIP = limit }
        if let timeout = overrides.shutdownTimeout { self.shutdownTimeout = timeout }
        if let names = overrides.userEvents { self.userEvents = names }
        if let names = overrides.ephemeralEvents { self.ephemeralEvents = names }
        if let log = overrides.logConnections { self.logConnections = log }
    }

    /// A comma-separated list from an environment variable: items trimmed, empty ones dropped.
    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    // MARK: - Typed file values

    private static func object(_ value: JSONValue, _ key: String) throws -> JSONObject {
        guard let object = value.objectValue else {
            throw HubConfigurationError(key: key, problem: "must be an object")
        }
        return object
    }

    private static func string(_ value: JSONValue, _ key: String) throws -> String {
        guard let string = value.stringValue else {
            throw HubConfigurationError(key: key, problem: "must be a string")
        }
        return string
    }

    private static func int(_ value: JSONValue, _ key: String) throws -> Int {
        guard let int = value.intValue else {
            throw HubConfigurationError(key: key, problem: "must be an integer")
        }
        return int
    }

    private static func bool(_ value: JSONValue, _ key: String) throws -> Bool {
        guard let bool = value.boolValue else {
            throw HubConfigurationError(key: key, problem: "must be true or false")
        }
        return bool
    }

    private static func strings(
        _ value: JSONValue,
        _ key: String,
        expected: String = "an array of strings"
    ) throws -> [String] {
        guard let elements = value.arrayValue else {
            throw HubConfigurationError(key: key, problem: "must be \(expected)")
        }
        return try elements.enumerated().map { index, element in
            guard let string = element.stringValue else {
                throw HubConfigurationError(key: "\(key)[\(index)]", problem: "must be a string")
            }
            return string
        }
    }
}

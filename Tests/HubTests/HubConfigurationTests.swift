import EngineIO
import Foundation
import Hub
import NIOCore
import SocketIO
import Testing

@Suite("HubConfiguration")
struct HubConfigurationTests {
    static let secret = "a-config-test-secret-longer-than-32-bytes"

    /// Writes `json` to a fresh temporary file, runs `body` with its path, then removes it.
    static func withFile<T>(_ json: String, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("hub-config-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    static func load(
        file json: String? = nil,
        environment: [String: String] = [:],
        overrides: HubConfiguration.Overrides = .init()
    ) throws -> HubConfiguration {
        guard let json else {
            return try HubConfiguration.load(configFile: nil, environment: environment, overrides: overrides)
        }
        return try withFile(json) {
            try HubConfiguration.load(configFile: $0, environment: environment, overrides: overrides)
        }
    }

    /// The error `body` throws; records an issue when it throws nothing or something else.
    static func configurationError(_ body: () throws -> Void) -> HubConfigurationError? {
        do {
            try body()
            Issue.record("expected a HubConfigurationError")
            return nil
        } catch let error as HubConfigurationError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    // MARK: - Defaults

    @Test func defaultsAreSocketIOs() throws {
        let configuration = HubConfiguration()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 3000)
        #expect(configuration.path == "/socket.io/")
        #expect(configuration.corsOrigins == [])
        #expect(configuration.corsCredentials)
        #expect(configuration.pingInterval == 25_000)
        #expect(configuration.pingTimeout == 20_000)
        #expect(configuration.upgradeTimeout == 10_000)
        #expect(configuration.maxHttpBufferSize == 1_000_000)
        #expect(configuration.connectTimeout == 45_000)
        #expect(configuration.transports == ["polling", "websocket"])
        #expect(configuration.allowUpgrades)
        #expect(configuration.jwtSecret == nil)
        #expect(configuration.staticTokens == [])
        #expect(configuration.historySize == 1000)
        #expect(configuration.maxDisconnectionDuration == 120_000)
        #expect(configuration.streamAuthTimeout == 5_000)
        #expect(configuration.streamPingInterval == 25_000)
        #expect(configuration.streamPingTimeout == 20_000)
        #expect(configuration.logLevel == "info")
        #expect(!configuration.bench)
        #expect(configuration.logConnections)
        #expect(configuration.historyMaxRooms == 10_000)
        #expect(configuration.historyMaxBytes == 256 << 20)
        #expect(configuration.historyTTL == 86_400_000)
        #expect(configuration.maxRoomsPerSocket == 100)
        #expect(configuration.eventRateLimit == 200)
        #expect(configuration.eventRateBurst == 400)
        #expect(configuration.apiRateLimit == 1000)
        #expect(configuration.apiRateBurst == 2000)
        #expect(configuration.tokenExpiryWarning == 30_000)
        #expect(configuration.userEvents == ["chat_message", "typing_indicator"])
        #expect(configuration.ephemeralEvents == ["message_delta", "typing_indicator"])
        try configuration.validate()
    }

    @Test func defaultsAgreeWithTheEngineAndSocketIOLayers() {
        let configuration = HubConfiguration()
        let socketIO = SocketIOConfiguration()
        let engine = socketIO.engine
        #expect(engine.path == configuration.path)
        #expect(engine.pingInterval == .milliseconds(Int64(configuration.pingInterval)))
        #expect(engine.pingTimeout == .milliseconds(Int64(configuration.pingTimeout)))
        #expect(engine.upgradeTimeout == .milliseconds(Int64(configuration.upgradeTimeout)))
        #expect(engine.maxHttpBufferSize == configuration.maxHttpBufferSize)
        #expect(engine.allowUpgrades == configuration.allowUpgrades)
        #expect(Set(engine.transports.map(\.rawValue)) == Set(configuration.transports))
        #expect(socketIO.connectTimeout == .milliseconds(Int64(configuration.connectTimeout)))
    }

    @Test func loadingNothingGivesTheDefaults() throws {
        let configuration = try Self.load(environment: ["PATH": "/usr/bin", "HUB_BIN": ".build/debug/hub"])
        #expect(configuration.port == 3000)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.jwtSecret == nil)
    }

    // MARK: - Precedence

    @Test func flagsBeatEnvironmentBeatFileBeatDefaults() throws {
        let file = #"{"port": 4000, "logLevel": "debug", "pingInterval": 1000, "jwtSecret": "file-secret-file-secret-file-secret-1", "cors": {"origin": "https://file.example"}}"#
        let environment = [
            "HUB_PORT": "5000", "HUB_LOG_LEVEL": "notice", "HUB_PING_INTERVAL": "2000",
            "HUB_JWT_SECRET": "env-secret-env-secret-env-secret-env-2", "HUB_CORS_ORIGIN": "https://env.example",
        ]
        var overrides = HubConfiguration.Overrides()
        overrides.port = 6000
        overrides.logLevel = "error"
        overrides.pingInterval = 3000
        overrides.jwtSecret = "flag-secret-flag-secret-flag-secret-3"
        overrides.corsOrigins = ["https://flag.example", "https://flag2.example"]

        let fileOnly = try Self.load(file: file)
        #expect(fileOnly.port == 4000)
        #expect(fileOnly.logLevel == "debug")
        #expect(fileOnly.pingInterval == 1000)
        #expect(fileOnly.jwtSecret == "file-secret-file-secret-file-secret-1")
        #expect(fileOnly.corsOrigins == ["https://file.example"])
        #expect(fileOnly.pingTimeout == 20_000)  // untouched keys keep their defaults

        let withEnvironment = try Self.load(file: file, environment: environment)
        #expect(withEnvironment.port == 5000)
        #expect(withEnvironment.logLevel == "notice")
        #expect(withEnvironment.pingInterval == 2000)
        #expect(withEnvironment.jwtSecret == "env-secret-env-secret-env-secret-env-2")
        #expect(withEnvironment.corsOrigins == ["https://env.example"])

        let withFlags = try Self.load(file: file, environment: environment, overrides: overrides)
        #expect(withFlags.port == 6000)
        #expect(withFlags.logLevel == "error")
        #expect(withFlags.pingInterval == 3000)
        #expect(withFlags.jwtSecret == "flag-secret-flag-secret-flag-secret-3")
        #expect(withFlags.corsOrigins == ["https://flag.example", "https://flag2.example"])
    }

    @Test func everyEnvironmentVariableIsRead() throws {
        let configuration = try Self.load(environment: [
            "HUB_HOST": "0.0.0.0", "HUB_PORT": "8080", "HUB_PATH": "/rt/", "HUB_CORS_ORIGIN": " https://a.example , https://b.example,",
            "HUB_PING_INTERVAL": "1000", "HUB_PING_TIMEOUT": "900", "HUB_UPGRADE_TIMEOUT": "800",
            "HUB_MAX_HTTP_BUFFER_SIZE": "4096", "HUB_CONNECT_TIMEOUT": "700", "HUB_JWT_SECRET": Self.secret,
            "HUB_HISTORY_SIZE": "50", "HUB_MAX_DISCONNECTION_DURATION": "600", "HUB_STREAM_AUTH_TIMEOUT": "500",
            "HUB_STREAM_PING_INTERVAL": "450", "HUB_STREAM_PING_TIMEOUT": "400",
            "HUB_LOG_LEVEL": "trace", "HUB_LOG_CONNECTIONS": "false", "HUB_USER_EVENTS": "chat_message, agent_request,",
            "HUB_EPHEMERAL_EVENTS": "message.delta", "HUB_HISTORY_MAX_ROOMS": "11", "HUB_HISTORY_MAX_BYTES": "12",
            "HUB_HISTORY_TTL": "0", "HUB_MAX_ROOMS_PER_SOCKET": "13", "HUB_EVENT_RATE_LIMIT": "14", "HUB_EVENT_RATE_BURST": "15",
            "HUB_API_RATE_LIMIT": "16", "HUB_API_RATE_BURST": "17", "HUB_TOKEN_EXPIRY_WARNING": "0",
        ])
        #expect(configuration.tokenExpiryWarning == 0)
        #expect(configuration.eventRateLimit == 14)
        #expect(configuration.eventRateBurst == 15)
        #expect(configuration.apiRateLimit == 16)
        #expect(configuration.apiRateBurst == 17)
        #expect(configuration.historyMaxRooms == 11)
        #expect(configuration.historyMaxBytes == 12)
        #expect(configuration.historyTTL == 0)
        #expect(configuration.maxRoomsPerSocket == 13)
        #expect(!configuration.logConnections)
        #expect(configuration.userEvents == ["chat_message", "agent_request"])
        #expect(configuration.ephemeralEvents == ["message.delta"])
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 8080)
        #expect(configuration.path == "/rt/")
        #expect(configuration.corsOrigins == ["https://a.example", "https://b.example"])
        #expect(configuration.pingInterval == 1000)
        #expect(configuration.pingTimeout == 900)
        #expect(configuration.upgradeTimeout == 800)
        #expect(configuration.maxHttpBufferSize == 4096)
        #expect(configuration.connectTimeout == 700)
        #expect(configuration.jwtSecret == Self.secret)
        #expect(configuration.historySize == 50)
        #expect(configuration.maxDisconnectionDuration == 600)
        #expect(configuration.streamAuthTimeout == 500)
        #expect(configuration.streamPingInterval == 450)
        #expect(configuration.streamPingTimeout == 400)
        #expect(configuration.logLevel == "trace")
    }

    @Test func emptyEnvironmentVariablesCountAsUnset() throws {
        let configuration = try Self.load(file: #"{"port": 4000}"#, environment: ["HUB_PORT": "", "HUB_JWT_SECRET": "", "HUB_CONFIG": ""])
        #expect(configuration.port == 4000)
        #expect(configuration.jwtSecret == nil)
    }

    @Test func everyFlagIsApplied() throws {
        var overrides = HubConfiguration.Overrides()
        overrides.host = "::1"
        overrides.path = "/io/"
        overrides.maxHttpBufferSize = 123
        overrides.pingTimeout = 456
        overrides.historySize = 7
        overrides.bench = true
        overrides.userEvents = ["user_input"]
        overrides.ephemeralEvents = ["TEXT_MESSAGE_CONTENT"]
        overrides.logConnections = false
        overrides.historyTTL = 5
        overrides.maxRoomsPerSocket = 6
        overrides.eventRateLimit = 7
        overrides.eventRateBurst = 8
        overrides.apiRateLimit = 9
        overrides.apiRateBurst = 10
        let configuration = try Self.load(overrides: overrides)
        #expect(configuration.eventRateLimit == 7)
        #expect(configuration.eventRateBurst == 8)
        #expect(configuration.apiRateLimit == 9)
        #expect(configuration.apiRateBurst == 10)
        #expect(configuration.historyTTL == 5)
        #expect(configuration.maxRoomsPerSocket == 6)
        #expect(configuration.userEvents == ["user_input"])
        #expect(configuration.ephemeralEvents == ["TEXT_MESSAGE_CONTENT"])
        #expect(!configuration.logConnections)
        #expect(configuration.host == "::1")
        #expect(configuration.path == "/io/")
        #expect(configuration.maxHttpBufferSize == 123)
        #expect(configuration.pingTimeout == 456)
        #expect(configuration.historySize == 7)
        #expect(configuration.bench)
    }

    @Test func hubConfigNamesTheFileUnlessConfigIsGiven() throws {
        try Self.withFile(#"{"port": 4100}"#) { environmentFile in
            try Self.withFile(#"{"port": 4200}"#) { flagFile in
                let fromEnvironment = try HubConfiguration.load(
                    configFile: nil, environment: ["HUB_CONFIG": environmentFile], overrides: .init())
                #expect(fromEnvironment.port == 4100)
                let fromFlag = try HubConfiguration.load(
                    configFile: flagFile, environment: ["HUB_CONFIG": environmentFile], overrides: .init())
                #expect(fromFlag.port == 4200)
            }
        }
    }

    // MARK: - File contents

    @Test func sampleConfigurationLoads() throws {
        let configuration = try HubConfiguration.load(
            configFile: HubTestFixtures.url("config/hub.sample.json").path, environment: [:], overrides: .init())
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.corsOrigins == ["https://app.example.com", "https://dashboard.example.com"])
        #expect(configuration.transports == ["polling", "websocket"])
        #expect(configuration.jwtSecret != nil)
        #expect(configuration.staticTokens.map(\.user) == ["billing-service", "ops-dashboard"])
        #expect(configuration.staticTokens[0].rooms == ["billing", "alerts"])
        #expect(configuration.staticTokens[1].rooms == nil)
        #expect(configuration.maxDisconnectionDuration == 120_000)
    }

    @Test func sampleConfigurationShowsEveryKey() throws {
        let sample = try JSONValue.parse(try HubTestFixtures.text("config/hub.sample.json"))
        let keys = Set(try #require(sample.objectValue).keys)
        #expect(keys == [
            "_comment", "host", "port", "path", "cors", "pingInterval", "pingTimeout", "upgradeTimeout",
            "maxHttpBufferSize", "connectTimeout", "transports", "allowUpgrades", "jwtSecret", "tokens",
            "historySize", "connectionStateRecovery", "streamAuthTimeout", "logLevel",
            "streamPingInterval", "streamPingTimeout",
            "sseHeartbeatInterval", "sseMaxBufferedBytes",
            "maxConnections", "maxConnectionsPerIP", "maxHeaderSize", "requestHeadTimeout", "keepAliveTimeout",
            "shutdownTimeout", "redisURL", "clusterStatusInterval", "cookie", "logConnections", "userEvents", "ephemeralEvents",
            "historyMaxRooms", "historyMaxBytes", "historyTTL", "maxRoomsPerSocket",
            "eventRateLimit", "eventRateBurst", "apiRateLimit", "apiRateBurst", "tokenExpiryWarning",
            "jwtPublicKeyFile", "jwksURL", "jwtKeyAlgorithm", "jwksRefreshInterval", "jwtIssuer", "jwtAudience", "jwtLeeway",
            "maxTokenLength",
        ])
        #expect(Set(try #require(sample["cors"]?.objectValue).keys) == ["_comment", "origin", "credentials"])
    }

    @Test func minimalConfigurationLoads() throws {
        let configuration = try HubConfiguration.load(
            configFile: HubTestFixtures.url("config/minimal.json").path, environment: [:], overrides: .init())
        #expect(configuration.port == 3000)
        #expect(configuration.jwtSecret != nil)
        #expect(configuration.host == "127.0.0.1")
    }

    @Test func everyFileKeyIsRead() throws {
        let configuration = try Self.load(file: """
            {"host": "10.0.0.1", "port": 0, "path": "/x/", "cors": {"origin": "*", "credentials": false},
             "pingInterval": 1, "pingTimeout": 2, "upgradeTimeout": 3, "maxHttpBufferSize": 4, "connectTimeout": 5,
             "transports": ["websocket"], "allowUpgrades": false, "jwtSecret": null, "tokens": [],
             "historySize": 6, "connectionStateRecovery": {"maxDisconnectionDuration": 7},
             "streamAuthTimeout": 8, "logLevel": "warning", "logConnections": false,
             "userEvents": ["agent_request"], "ephemeralEvents": [], "historyMaxRooms": 9, "historyMaxBytes": 10,
             "historyTTL": 11, "maxRoomsPerSocket": 12, "eventRateLimit": 13, "eventRateBurst": 14,
             "apiRateLimit": 15, "apiRateBurst": 16,
             "streamPingInterval": 17, "streamPingTimeout": 18, "tokenExpiryWarning": 19}
            """)
        #expect(configuration.eventRateLimit == 13)
        #expect(configuration.eventRateBurst == 14)
        #expect(configuration.apiRateLimit == 15)
        #expect(configuration.apiRateBurst == 16)
        #expect(configuration.tokenExpiryWarning == 19)
        #expect(configuration.historyMaxRooms == 9)
        #expect(configuration.historyMaxBytes == 10)
        #expect(configuration.historyTTL == 11)
        #expect(configuration.maxRoomsPerSocket == 12)
        #expect(!configuration.logConnections)
        #expect(configuration.userEvents == ["agent_request"])
        #expect(configuration.ephemeralEvents == [])
        #expect(configuration.host == "10.0.0.1")
        #expect(configuration.port == 0)
        #expect(configuration.path == "/x/")
        #expect(configuration.corsOrigins == ["*"])
        #expect(!configuration.corsCredentials)
        #expect(configuration.pingInterval == 1)
        #expect(configuration.pingTimeout == 2)
        #expect(configuration.upgradeTimeout == 3)
        #expect(configuration.maxHttpBufferSize == 4)
        #expect(configuration.connectTimeout == 5)
        #expect(configuration.transports == ["websocket"])
        #expect(!configuration.allowUpgrades)
        #expect(configuration.jwtSecret == nil)
        #expect(configuration.historySize == 6)
        #expect(configuration.maxDisconnectionDuration == 7)
        #expect(configuration.streamAuthTimeout == 8)
        #expect(configuration.streamPingInterval == 17)
        #expect(configuration.streamPingTimeout == 18)
        #expect(configuration.logLevel == "warning")
    }

    @Test func tokensAreParsed() throws {
        let configuration = try Self.load(file: """
            {"tokens": [
              {"token": "token-one-0123456789", "user": "svc", "roles": ["service", "monitor"], "rooms": ["a", "*"]},
              {"token": "token-two-0123456789", "user": "admin", "roles": []},
              {"token": "token-three-012345678", "user": "ui", "roles": ["user"], "rooms": null}
            ]}
            """)
        #expect(configuration.staticTokens == [
            StaticToken(token: "token-one-0123456789", user: "svc", roles: [.service, .monitor], rooms: ["a", "*"]),
            StaticToken(token: "token-two-0123456789", user: "admin", roles: []),
            StaticToken(token: "token-three-012345678", user: "ui", roles: [.user]),
        ])
        // The loaded tokens work with the authenticator.
        let auth = TokenAuthenticator(jwtSecret: configuration.jwtSecret, staticTokens: configuration.staticTokens)
        #expect(try auth.authenticate(token: "token-one-0123456789").get().roles == [.service, .monitor])
    }

    @Test func staticTokenIsCodable() throws {
        let token = StaticToken(token: "token-one-0123456789", user: "svc", roles: [.service], rooms: ["a"])
        let data = try JSONEncoder().encode(token)
        #expect(try JSONDecoder().decode(StaticToken.self, from: data) == token)
        let withoutRooms = try JSONDecoder().decode(
            StaticToken.self, from: Data(#"{"token":"t","user":"u","roles":["admin"]}"#.utf8))
        #expect(withoutRooms == StaticToken(token: "t", user: "u", roles: [.admin], rooms: nil))
    }

    // MARK: - Refused files

    @Test(arguments: [
        (#"{"prot": 3000}"#, "prot"),
        (#"{"cors": {"orign": "*"}}"#, "cors.orign"),
        (#"{"connectionStateRecovery": {"skipMiddlewares": true}}"#, "connectionStateRecovery.skipMiddlewares"),
        (#"{"tokens": [{"token": "token-one-0123456789", "user": "u", "roles": [], "room": ["a"]}]}"#, "tokens[0].room"),
        (#"{"bench": true}"#, "bench"),
    ])
    func unknownKeysAreRefused(json: String, key: String) {
        let error = Self.configurationError { _ = try Self.load(file: json) }
        #expect(error?.key == key)
        #expect(error?.problem == "unknown setting")
    }

    @Test(arguments: [
        (#"{"port": "3000"}"#, "port"),
        (#"{"port": 3000.5}"#, "port"),
        (#"{"host": 1}"#, "host"),
        (#"{"allowUpgrades": "yes"}"#, "allowUpgrades"),
        (#"{"transports": "polling"}"#, "transports"),
        (#"{"transports": ["polling", 1]}"#, "transports[1]"),
        (#"{"cors": "*"}"#, "cors"),
        (#"{"cors": {"origin": 5}}"#, "cors.origin"),
        (#"{"cors": {"credentials": 1}}"#, "cors.credentials"),
        (#"{"jwtSecret": 123}"#, "jwtSecret"),
        (#"{"tokens": {}}"#, "tokens"),
        (#"{"tokens": ["abc"]}"#, "tokens[0]"),
        (#"{"tokens": [{"user": "u", "roles": []}]}"#, "tokens[0].token"),
        (#"{"tokens": [{"token": "token-one-0123456789", "roles": []}]}"#, "tokens[0].user"),
        (#"{"tokens": [{"token": "token-one-0123456789", "user": "u"}]}"#, "tokens[0].roles"),
        (#"{"tokens": [{"token": "token-one-0123456789", "user": "u", "roles": ["user", "adimn"]}]}"#, "tokens[0].roles[1]"),
        (#"{"connectionStateRecovery": 5}"#, "connectionStateRecovery"),
    ])
    func wrongTypesAreRefused(json: String, key: String) {
        #expect(Self.configurationError { _ = try Self.load(file: json) }?.key == key)
    }

    @Test(arguments: ["[1, 2]", "{\"port\": 3000", "", "nope"])
    func invalidFilesAreRefusedNamingTheFile(json: String) throws {
        try Self.withFile(json) { path in
            let error = Self.configurationError {
                _ = try HubConfiguration.load(configFile: path, environment: [:], overrides: .init())
            }
            #expect(error?.key == path)
        }
    }

    @Test func missingFileIsRefusedNamingTheFile() {
        let path = "/nonexistent/hub-\(UUID().uuidString).json"
        let error = Self.configurationError {
            _ = try HubConfiguration.load(configFile: nil, environment: ["HUB_CONFIG": path], overrides: .init())
        }
        #expect(error?.key == path)
    }

    // MARK: - Refused environment

    @Test(arguments: [
        "HUB_PORT", "HUB_PING_INTERVAL", "HUB_PING_TIMEOUT", "HUB_UPGRADE_TIMEOUT", "HUB_MAX_HTTP_BUFFER_SIZE",
        "HUB_CONNECT_TIMEOUT", "HUB_HISTORY_SIZE", "HUB_MAX_DISCONNECTION_DURATION", "HUB_STREAM_AUTH_TIMEOUT",
        "HUB_STREAM_PING_INTERVAL", "HUB_STREAM_PING_TIMEOUT",
    ])
    func badEnvironmentNumbersAreRefused(name: String) {
        for value in ["abc", "1.5", "10ms", "0x10"] {
            let error = Self.configurationError { _ = try Self.load(environment: [name: value]) }
            #expect(error?.key == name)
            #expect(error?.description.hasPrefix("\(name): ") == true)
        }
    }

    @Test func logConnectionsTakesBooleans() throws {
        for (text, value) in [("true", true), ("1", true), ("on", true), ("FALSE", false), ("0", false), ("no", false)] {
            #expect(try Self.load(environment: ["HUB_LOG_CONNECTIONS": text]).logConnections == value, "\(text)")
        }
        let error = Self.configurationError { _ = try Self.load(environment: ["HUB_LOG_CONNECTIONS": "maybe"]) }
        #expect(error?.key == "HUB_LOG_CONNECTIONS")
    }

    // MARK: - validate()

    /// The defaults with `change` applied.
    static func defaults(_ change: (inout HubConfiguration) -> Void) -> HubConfiguration {
        var configuration = HubConfiguration()
        change(&configuration)
        return configuration
    }

    @Test(arguments: [
        ("host", Self.defaults { c in c.host = "" }),
        ("port", Self.defaults { c in c.port = -1 }),
        ("port", Self.defaults { c in c.port = 65_536 }),
        ("path", Self.defaults { c in c.path = "socket.io/" }),
        ("path", Self.defaults { c in c.path = "" }),
        ("cors.origin[1]", Self.defaults { c in c.corsOrigins = ["https://a.example", ""] }),
        ("pingInterval", Self.defaults { c in c.pingInterval = 0 }),
        ("pingTimeout", Self.defaults { c in c.pingTimeout = -5 }),
        ("upgradeTimeout", Self.defaults { c in c.upgradeTimeout = 0 }),
        ("connectTimeout", Self.defaults { c in c.connectTimeout = 2_147_483_648 }),
        ("connectionStateRecovery.maxDisconnectionDuration", Self.defaults { c in c.maxDisconnectionDuration = 0 }),
        ("streamAuthTimeout", Self.defaults { c in c.streamAuthTimeout = 0 }),
        ("streamPingInterval", Self.defaults { c in c.streamPingInterval = 0 }),
        ("streamPingTimeout", Self.defaults { c in c.streamPingTimeout = 2_147_483_648 }),
        ("maxHttpBufferSize", Self.defaults { c in c.maxHttpBufferSize = 0 }),
        ("historySize", Self.defaults { c in c.historySize = 0 }),
        ("transports", Self.defaults { c in c.transports = [] }),
        ("transports[1]", Self.defaults { c in c.transports = ["polling", "webtransport"] }),
        ("transports[1]", Self.defaults { c in c.transports = ["websocket", "websocket"] }),
        ("jwtSecret", Self.defaults { c in c.jwtSecret = "" }),
        ("jwtSecret", Self.defaults { c in c.jwtSecret = String(repeating: "k", count: 31) }),
        ("tokens[0].token", Self.defaults { c in c.staticTokens = [StaticToken(token: "short", user: "u", roles: [.user])] }),
        ("tokens[1].token", Self.defaults { c in
            c.staticTokens = [
                StaticToken(token: "same-token-0123456789", user: "a", roles: [.user]),
                StaticToken(token: "same-token-0123456789", user: "b", roles: [.admin]),
            ]
        }),
        ("tokens[0].user", Self.defaults { c in c.staticTokens = [StaticToken(token: "token-one-0123456789", user: "", roles: [])] }),
        ("tokens[0].rooms[0]", Self.defaults { c in
            c.staticTokens = [StaticToken(token: "token-one-0123456789", user: "u", roles: [], rooms: [""])]
        }),
        ("logLevel", Self.defaults { c in c.logLevel = "verbose" }),
        ("userEvents[1]", Self.defaults { c in c.userEvents = ["chat_message", "user_left"] }),
        ("userEvents[0]", Self.defaults { c in c.userEvents = [""] }),
        ("ephemeralEvents[0]", Self.defaults { c in c.ephemeralEvents = ["bad\nname"] }),
        ("historyMaxRooms", Self.defaults { c in c.historyMaxRooms = 0 }),
        ("historyMaxBytes", Self.defaults { c in c.historyMaxBytes = -1 }),
        ("historyTTL", Self.defaults { c in c.historyTTL = -1 }),
        ("maxRoomsPerSocket", Self.defaults { c in c.maxRoomsPerSocket = 0 }),
        ("eventRateLimit", Self.defaults { c in c.eventRateLimit = 0 }),
        ("eventRateBurst", Self.defaults { c in c.eventRateBurst = 0 }),
        ("apiRateLimit", Self.defaults { c in c.apiRateLimit = -1 }),
        ("apiRateBurst", Self.defaults { c in c.apiRateBurst = 0 }),
        ("tokenExpiryWarning", Self.defaults { c in c.tokenExpiryWarning = -1 }),
    ])
    func validateNamesTheKey(key: String, configuration: HubConfiguration) {
        let error = Self.configurationError { try configuration.validate() }
        #expect(error?.key == key)
    }

    @Test func validateAcceptsTheEdges() throws {
        var configuration = HubConfiguration()
        configuration.port = 0
        try configuration.validate()
        configuration.port = 65_535
        configuration.jwtSecret = String(repeating: "k", count: 32)
        configuration.transports = ["websocket"]
        configuration.historySize = 1
        configuration.pingInterval = 2_147_483_647
        configuration.staticTokens = [StaticToken(token: String(repeating: "t", count: 16), user: "u", roles: [])]
        for level in ["trace", "debug", "info", "notice", "warning", "error", "critical"] {
            configuration.logLevel = level
            try configuration.validate()
        }
    }

    @Test func loadValidates() {
        let error = Self.configurationError { _ = try Self.load(environment: ["HUB_PORT": "70000"]) }
        #expect(error?.key == "port")
        var overrides = HubConfiguration.Overrides()
        overrides.historySize = 0
        #expect(Self.configurationError { _ = try Self.load(overrides: overrides) }?.key == "historySize")
    }

    @Test func errorsNeverContainSecrets() {
        let secret = "tiny-secret"
        let secretError = Self.configurationError { _ = try Self.load(environment: ["HUB_JWT_SECRET": secret]) }
        #expect(secretError?.key == "jwtSecret")
        #expect(secretError.map { !$0.description.contains(secret) } == true)

        let token = "short-tok"
        let tokenError = Self.configurationError {
            _ = try Self.load(file: #"{"tokens": [{"token": "\#(token)", "user": "u", "roles": []}]}"#)
        }
        #expect(tokenError?.key == "tokens[0].token")
        #expect(tokenError.map { !$0.description.contains(token) } == true)
    }
}

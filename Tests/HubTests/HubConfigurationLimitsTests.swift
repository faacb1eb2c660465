import EngineIO
import Hub
import NIOCore
import Logging
import NIOPosix
import Testing

/// The limit settings (Docs/reliability.md "Limits"): defaults, the three sources, validation, and
/// how they reach the engine and the HTTP listener.
@Suite("HubConfiguration limits")
struct HubConfigurationLimitsTests {
    @Test func defaults() {
        let configuration = HubConfiguration()
        #expect(configuration.maxConnections == 100_000)
        #expect(configuration.maxConnectionsPerIP == 0)
        #expect(configuration.maxHeaderSize == 16_384)
        #expect(configuration.requestHeadTimeout == 10_000)
        #expect(configuration.keepAliveTimeout == 30_000)
        #expect(configuration.shutdownTimeout == 10_000)
    }

    @Test func fileEnvironmentAndFlagsInOrder() throws {
        var overrides = HubConfiguration.Overrides()
        overrides.maxConnections = 30
        overrides.shutdownTimeout = 2500
        let configuration = try HubConfigurationTests.load(
            file: """
                {"maxConnections": 10, "maxConnectionsPerIP": 5, "maxHeaderSize": 4096,
                 "requestHeadTimeout": 1000, "keepAliveTimeout": 2000, "shutdownTimeout": 3000}
                """,
            environment: ["HUB_MAX_CONNECTIONS": "20", "HUB_MAX_CONNECTIONS_PER_IP": "6", "HUB_MAX_HEADER_SIZE": "8192",
                          "HUB_REQUEST_HEAD_TIMEOUT": "1500", "HUB_KEEP_ALIVE_TIMEOUT": "2500"],
            overrides: overrides)
        #expect(configuration.maxConnections == 30, "the flag wins")
        #expect(configuration.maxConnectionsPerIP == 6, "the environment wins over the file")
        #expect(configuration.maxHeaderSize == 8192)
        #expect(configuration.requestHeadTimeout == 1500)
        #expect(configuration.keepAliveTimeout == 2500)
        #expect(configuration.shutdownTimeout == 2500)
    }

    @Test(arguments: [
        ("maxConnections", -1), ("maxConnectionsPerIP", -1), ("maxHeaderSize", 1023),
        ("requestHeadTimeout", 0), ("keepAliveTimeout", 0), ("shutdownTimeout", 0),
    ])
    func outOfRangeValuesAreRefused(key: String, value: Int) {
        let error = HubConfigurationTests.configurationError {
            _ = try HubConfigurationTests.load(file: #"{"\#(key)": \#(value)}"#)
        }
        #expect(error?.key == key)
    }

    @Test func zeroMeansNoConnectionLimit() throws {
        let configuration = try HubConfigurationTests.load(file: #"{"maxConnections": 0, "maxConnectionsPerIP": 0}"#)
        #expect(configuration.maxConnections == 0)
    }

    @Test func environmentValuesMustBeIntegers() {
        let error = HubConfigurationTests.configurationError {
            _ = try HubConfigurationTests.load(environment: ["HUB_SHUTDOWN_TIMEOUT": "10s"])
        }
        #expect(error?.key == "HUB_SHUTDOWN_TIMEOUT")
    }

    @Test func theListenerGetsTheHTTPLimits() {
        var configuration = HubConfiguration()
        configuration.port = 0
        configuration.maxHeaderSize = 2048
        configuration.requestHeadTimeout = 1234
        configuration.keepAliveTimeout = 5678
        let http = configuration.httpServerConfiguration
        #expect(http.port == 0)
        #expect(http.host == configuration.host)
        #expect(http.maxHeaderSize == 2048)
        #expect(http.requestHeadTimeout == .milliseconds(1234))
        #expect(http.keepAliveTimeout == .milliseconds(5678))
    }

    @Test func theEngineGetsTheConnectionLimits() throws {
        var configuration = HubConfiguration()
        configuration.maxConnections = 7
        configuration.maxConnectionsPerIP = 3
        let hub = try Hub(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton,
                          logger: Logger(label: "limits", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(hub.io.engine.configuration.maxConnections == 7)
        #expect(hub.io.engine.configuration.maxConnectionsPerIP == 3)
    }
}

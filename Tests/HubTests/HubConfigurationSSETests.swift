import Hub
import Testing

/// The `/sse` settings (Docs/configuration.md): defaults, the file and the environment, validation.
@Suite("HubConfiguration SSE")
struct HubConfigurationSSETests {
    @Test func defaults() {
        let configuration = HubConfiguration()
        #expect(configuration.sseHeartbeatInterval == 15_000)
        #expect(configuration.sseMaxBufferedBytes == 1_048_576)
        #expect(configuration.logConnections)
    }

    @Test func theEnvironmentWinsOverTheFile() throws {
        let fromFile = try HubConfigurationTests.load(file: #"{"sseHeartbeatInterval": 500, "sseMaxBufferedBytes": 4096}"#)
        #expect(fromFile.sseHeartbeatInterval == 500)
        #expect(fromFile.sseMaxBufferedBytes == 4096)
        let configuration = try HubConfigurationTests.load(
            file: #"{"sseHeartbeatInterval": 500, "sseMaxBufferedBytes": 4096}"#,
            environment: ["HUB_SSE_HEARTBEAT_INTERVAL": "750", "HUB_SSE_MAX_BUFFERED_BYTES": "8192"])
        #expect(configuration.sseHeartbeatInterval == 750)
        #expect(configuration.sseMaxBufferedBytes == 8192)
    }

    @Test(arguments: [("sseHeartbeatInterval", 0), ("sseHeartbeatInterval", 2_147_483_648), ("sseMaxBufferedBytes", 0)])
    func outOfRangeValuesAreRefused(key: String, value: Int) {
        let error = HubConfigurationTests.configurationError {
            _ = try HubConfigurationTests.load(file: #"{"\#(key)": \#(value)}"#)
        }
        #expect(error?.key == key)
    }

    @Test(arguments: ["HUB_SSE_HEARTBEAT_INTERVAL", "HUB_SSE_MAX_BUFFERED_BYTES"])
    func environmentValuesMustBeIntegers(name: String) {
        let error = HubConfigurationTests.configurationError {
            _ = try HubConfigurationTests.load(environment: [name: "15s"])
        }
        #expect(error?.key == name)
    }

    @Test func wrongTypesInTheFileAreRefused() {
        let error = HubConfigurationTests.configurationError {
            _ = try HubConfigurationTests.load(file: #"{"sseHeartbeatInterval": "15000"}"#)
        }
        #expect(error?.key == "sseHeartbeatInterval")
    }
}

import EngineIO
import Hub
import Logging
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// `hub_connections_refused_total{reason}`: every reason is exported from the start, and a refused
/// handshake moves its series (once, however often the metrics are scraped).
@Suite("Hub limits in /metrics")
struct HubLimitsMetricsTests {
    @Test func refusedHandshakesAreCountedByReason() async throws {
        var configuration = HubConfiguration()
        configuration.port = 0
        configuration.maxConnections = 1
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = Logger(label: "limits-metrics", factory: { _ in SwiftLogNoOpLogHandler() })
        let hub = try Hub(configuration: configuration, group: group, logger: logger)
        let http = HTTPServer(configuration: hub.configuration.httpServerConfiguration, endpoints: hub.endpoints,
                              group: group, logger: logger, refusals: hub.io.engine.refusals)
        let address = try await http.start()
        let client = TestHTTPClient(address: address, group: group)

        let before = try await client.get("/metrics")
        for refusal in ConnectionRefusal.allCases {
            #expect(before.text.contains("hub_connections_refused_total{reason=\"\(refusal.rawValue)\"} 0"), "\(refusal)")
        }
        let first = try await client.get("/socket.io/?EIO=4&transport=polling")
        #expect(first.status == .ok)
        let second = try await client.get("/socket.io/?EIO=4&transport=polling")
        #expect(second.status == .serviceUnavailable)
        #expect(second.text == #"{"code":6,"message":"Too many connections"}"#)

        for _ in 0..<2 {
            let after = try await client.get("/metrics")
            #expect(after.text.contains(#"hub_connections_refused_total{reason="max_connections"} 1"#), "\(after.text)")
            #expect(after.text.contains(#"hub_connections_refused_total{reason="shutting_down"} 0"#))
        }

        hub.io.engine.closeAllSessions()
        await http.stopAccepting()
        _ = await http.closeConnections(until: .now() + .seconds(1))
        try await group.shutdownGracefully()
    }
}

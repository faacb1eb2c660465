import Testing

@testable import EngineIO

/// ``ConnectionLimiter``: the global and per-address caps and the drain flag, as a value.
@Suite("Connection limiter")
struct ConnectionLimiterTests {
    @Test func theGlobalCapRefusesTheSessionPastIt() {
        var limiter = ConnectionLimiter(maxConnections: 2, maxConnectionsPerIP: 0)
        #expect(limiter.acquire("10.0.0.1") == nil)
        #expect(limiter.acquire("10.0.0.2") == nil)
        #expect(limiter.acquire("10.0.0.3") == .maxConnections)
        #expect(limiter.total == 2)
        limiter.release("10.0.0.1")
        #expect(limiter.acquire("10.0.0.3") == nil)
        #expect(limiter.byAddress == ["10.0.0.2": 1, "10.0.0.3": 1])
    }

    @Test func thePerAddressCapCountsEachAddressOnItsOwn() {
        var limiter = ConnectionLimiter(maxConnections: 0, maxConnectionsPerIP: 2)
        #expect(limiter.acquire("10.0.0.1") == nil)
        #expect(limiter.acquire("10.0.0.1") == nil)
        #expect(limiter.acquire("10.0.0.1") == .maxConnectionsPerIP)
        #expect(limiter.acquire("10.0.0.2") == nil, "another address is not affected")
        #expect(limiter.acquire(nil) == nil, "a peer without an IP only counts globally")
        #expect(limiter.total == 4)
        limiter.release("10.0.0.1")
        #expect(limiter.refusal(for: "10.0.0.1") == nil)
        limiter.release("10.0.0.1")
        limiter.release("10.0.0.2")
        limiter.release(nil)
        #expect(limiter.byAddress.isEmpty, "no entry outlives its sessions")
        #expect(limiter.total == 0)
    }

    @Test func zeroMeansNoLimit() {
        var limiter = ConnectionLimiter(maxConnections: 0, maxConnectionsPerIP: 0)
        for _ in 0..<1000 {
            #expect(limiter.acquire("127.0.0.1") == nil)
        }
        #expect(limiter.total == 1000)
    }

    @Test func drainingRefusesEverythingFirst() {
        var limiter = ConnectionLimiter(maxConnections: 1, maxConnectionsPerIP: 1)
        #expect(limiter.acquire("10.0.0.1") == nil)
        limiter.isDraining = true
        #expect(limiter.acquire("10.0.0.2") == .shuttingDown)
        #expect(limiter.refusal(for: "10.0.0.1") == .shuttingDown)
        #expect(limiter.total == 1)
    }

    @Test func refusalsCarryTheirEngineAnswer() {
        #expect(ConnectionRefusal.maxConnections.engineError?.code == 6)
        #expect(ConnectionRefusal.maxConnectionsPerIP.engineError?.message == "Too many connections from this address")
        #expect(ConnectionRefusal.shuttingDown.engineError?.code == 8)
        #expect(ConnectionRefusal.headerTooLarge.engineError == nil)
        #expect(ConnectionRefusal.allCases.map(\.rawValue) == [
            "max_connections", "max_connections_per_ip", "shutting_down", "header_too_large", "request_head_timeout",
        ])
    }
}

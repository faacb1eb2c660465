@testable import Hub
import SocketIO
import Testing

/// ``SSEStats``: the open streams by namespace and room, and the bound.
@Suite struct SSEStatsTests {
    @Test func countsByNamespaceAndRoomAndTheBound() {
        let stats = SSEStats()
        #expect(stats.json == ["connections": 0, "rooms": ["/": [:], "/admin": [:], "/chat": [:], "/monitoring": [:]]])
        #expect(stats.open(namespace: "/monitoring", room: "ops", limit: 3))
        #expect(stats.open(namespace: "/monitoring", room: "ops", limit: 3))
        #expect(stats.open(namespace: "/", room: "lobby", limit: 3))
        #expect(!stats.open(namespace: "/", room: "more", limit: 3), "the bound")
        #expect(stats.open(namespace: "/", room: "more", limit: 0), "0: no bound")
        #expect(stats.connections == 4)
        #expect(stats.rooms == ["/monitoring": ["ops": 2], "/": ["lobby": 1, "more": 1]])
        stats.close(namespace: "/", room: "more")
        stats.close(namespace: "/monitoring", room: "ops")
        stats.close(namespace: "/monitoring", room: "nothing")  // never opened: ignored
        #expect(stats.json == ["connections": 2, "rooms": ["/": ["lobby": 1], "/admin": [:], "/chat": [:], "/monitoring": ["ops": 1]]])
    }

    @Test func roomsAreKeptApartByTheirBytes() {
        let stats = SSEStats()
        #expect(stats.open(namespace: "/", room: "caf\u{E9}", limit: 0))
        #expect(stats.open(namespace: "/", room: "cafe\u{301}", limit: 0))
        stats.close(namespace: "/", room: "caf\u{E9}")
        #expect(stats.connections == 1)
        stats.close(namespace: "/", room: "caf\u{E9}")
        #expect(stats.connections == 1, "the other spelling is still open")
        stats.close(namespace: "/", room: "cafe\u{301}")
        #expect(stats.connections == 0)
    }
}

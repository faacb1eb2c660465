import NIOCore
import SocketIO
import Testing

@testable import Hub

@Suite("Event history bounds")
struct EventHistoryTests {
    func event(_ room: String, _ n: Int = 0, namespace: String = "/", type: String = "task_updated", payload: Int = 0) -> HubEvent {
        HubEvent(type: type, namespace: namespace, room: room,
                 data: ["n": .number(Double(n)), "pad": .string(String(repeating: "x", count: payload))], source: "test")
    }

    func history(maxRooms: Int = 10_000, maxBytes: Int = 256 << 20, ttl: TimeAmount? = nil, capacity: Int = 10) -> EventHistory {
        var configuration = EventHistory.Configuration(capacityPerRoom: capacity)
        configuration.maxRooms = maxRooms
        configuration.maxBytes = maxBytes
        configuration.ttl = ttl
        return EventHistory(configuration: configuration)
    }

    @Test func leastRecentlyUsedRoomsAreDroppedPastMaxRooms() {
        let history = self.history(maxRooms: 10)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for index in 0..<10 {
            history.append(self.event("r\(index)"), now: start + .seconds(Int64(index)))
        }
        // r0 is used again: r1 is now the oldest.
        history.append(self.event("r0"), now: start + .seconds(20))
        history.append(self.event("r10"), now: start + .seconds(21))
        // Over the bound: down to 90 % (9 rooms), oldest first, never the room just appended to.
        #expect(history.usage.rooms == 9)
        #expect(history.latestOffset(namespace: "/", room: "r1") == 0)
        #expect(history.latestOffset(namespace: "/", room: "r2") == 0)
        #expect(history.latestOffset(namespace: "/", room: "r0") == 2)
        #expect(history.latestOffset(namespace: "/", room: "r10") == 1)
        #expect(history.evictions[.rooms] == 2)
    }

    @Test func theByteBudgetDropsTheOldestRooms() {
        let history = self.history(maxBytes: 100_000)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for index in 0..<30 {
            history.append(self.event("big\(index)", payload: 10_000), now: start + .seconds(Int64(index)))
        }
        let usage = history.usage
        #expect(usage.bytes <= 100_000)
        #expect(usage.rooms < 30)
        #expect(history.events(namespace: "/", room: "big29").count == 1, "the room just published to is kept")
        #expect(history.latestOffset(namespace: "/", room: "big0") == 0)
        #expect(history.evictions[.bytes, default: 0] > 0)
    }

    @Test func bytesFollowTheRingBuffer() {
        let history = self.history(capacity: 2)
        history.append(self.event("r", 1, payload: 1000))
        let one = history.usage.bytes
        history.append(self.event("r", 2, payload: 1000))
        history.append(self.event("r", 3, payload: 1000))
        history.append(self.event("r", 4, payload: 1000))
        #expect(history.usage.bytes == 2 * one, "two events kept, the dropped ones no longer counted")
    }

    @Test func idleHistoriesAreSweptAfterTheTTL() {
        let history = self.history(ttl: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        history.append(self.event("idle"), now: start)
        history.append(self.event("busy"), now: start)
        history.append(self.event("busy"), now: start + .seconds(50))
        #expect(history.sweep(now: start + .seconds(59)) == 0)
        #expect(history.sweep(now: start + .seconds(61)) == 1)
        #expect(history.latestOffset(namespace: "/", room: "idle") == 0)
        #expect(history.latestOffset(namespace: "/", room: "busy") == 2)
        #expect(history.evictions[.ttl] == 1)
        #expect(self.history(ttl: nil).sweep(now: start + .hours(1000)) == 0)
    }

    @Test func aRoomCreatedAgainContinuesAboveEveryDroppedOffset() {
        let history = self.history(ttl: .seconds(1))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for n in 1...5 {
            history.append(self.event("ops", n), now: start)
        }
        history.sweep(now: start + .seconds(2))
        #expect(history.latestOffset(namespace: "/", room: "ops") == 0)
        let again = history.append(self.event("ops", 6), now: start + .seconds(3))
        #expect(again.offset == 6, "a client resuming from offset 5 does not skip it")
        #expect(history.events(namespace: "/", room: "ops", since: 5).map(\.offset) == [6])
        // Rooms never dropped still start at 1.
        #expect(history.append(self.event("fresh"), now: start + .seconds(3)).offset == 6,
                "new rooms start above the highest dropped offset too")
    }

    @Test func presenceOnlyGoesIntoAHistoryThatExists() {
        let history = self.history()
        #expect(history.appendIfKept(self.event("quiet", type: "user_joined")) == nil)
        #expect(history.usage.rooms == 0)
        history.append(self.event("busy"))
        #expect(history.appendIfKept(self.event("busy", type: "user_joined"))?.offset == 2)
    }

    @Test func roomsAndNamespacesAreExactNames() {
        let history = self.history()
        history.append(self.event("\u{212A}elvin"))
        #expect(history.latestOffset(namespace: "/", room: "\u{212A}elvin") == 1)
        #expect(history.latestOffset(namespace: "/", room: "Kelvin") == 0)
        #expect(history.events(namespace: "/", room: "Kelvin").isEmpty)
        history.append(self.event("caf\u{E9}"))
        #expect(history.latestOffset(namespace: "/", room: "cafe\u{301}") == 0)
    }
}

import Testing

@testable import Hub

@Suite("Room history ring buffer")
struct RoomHistoryTests {
    func event(_ index: Int) -> HubEvent {
        HubEvent(type: "task_updated", namespace: "/monitoring", room: "ops", data: ["n": .number(Double(index))], source: "test")
    }

    @Test func offsetsGrowAndSinceFilters() {
        var history = RoomHistory(capacity: 10)
        #expect(history.latestOffset == 0)
        #expect(history.oldestOffset == nil)
        for index in 1...4 {
            #expect(history.append(self.event(index)).offset == UInt64(index))
        }
        #expect(history.events(after: 0).map(\.offset) == [1, 2, 3, 4])
        #expect(history.events(after: 2).map { $0.data["n"]?.intValue } == [3, 4])
        #expect(history.events(after: 4).isEmpty)
        #expect(history.events(after: 99).isEmpty)
        #expect(history.events(after: 0, limit: 2).map(\.offset) == [1, 2])
    }

    @Test func aHistoryMayStartAfterAnOffset() {
        var history = RoomHistory(capacity: 3, after: 100)
        #expect(history.latestOffset == 100)
        #expect(history.events(after: 0).isEmpty)
        #expect(history.append(self.event(1)).offset == 101)
        #expect(history.events(after: 0).map(\.offset) == [101])
        #expect(history.events(after: 100).map(\.offset) == [101])
        #expect(history.events(after: 101).isEmpty)
    }

    @Test func oldEventsFallOutButOffsetsAreNeverReused() {
        var history = RoomHistory(capacity: 3)
        for index in 1...7 {
            history.append(self.event(index))
        }
        #expect(history.count == 3)
        #expect(history.latestOffset == 7)
        #expect(history.oldestOffset == 5)
        #expect(history.events(after: 0).map(\.offset) == [5, 6, 7])
        #expect(history.events(after: 5).map(\.offset) == [6, 7])
        #expect(history.events(after: 6).map { $0.data["n"]?.intValue } == [7])
    }
}

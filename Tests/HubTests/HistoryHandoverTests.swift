import Foundation
@testable import Hub
import SocketIO
import Testing

/// ``HistoryHandover``: the replay/live rule `/stream` and `/sse` share.
@Suite struct HistoryHandoverTests {
    static func event(_ offset: UInt64?, type: String = "chat_message") -> HubEvent {
        var event = HubEvent(type: type, namespace: "/", room: "ops", data: ["n": .number(Double(offset ?? 0))], source: "test")
        event.offset = offset
        return event
    }

    @Test func liveEventsWaitForTheHistoryThenOnlyThoseAboveTheCutoffPass() {
        var handover = HistoryHandover(since: 1)
        #expect(!handover.isLive)
        // Published while the history is read: 3 is in the history read below, 4 is not.
        #expect(handover.receive(Self.event(3)) == nil)
        #expect(handover.receive(Self.event(4)) == nil)
        #expect(handover.receive(Self.event(nil, type: "typing_indicator")) == nil)

        let history = [Self.event(1), Self.event(2), Self.event(3)]
        let result = handover.start(latestOffset: 3, history: history)
        #expect(result?.replay.map(\.offset) == [2, 3])
        #expect(result?.live.map(\.offset) == [4, nil])
        #expect(handover.isLive)
        #expect(handover.stage == .live(cutoff: 3))

        #expect(handover.receive(Self.event(3)) == nil, "a duplicate of the replay")
        #expect(handover.receive(Self.event(5))?.offset == 5)
        #expect(handover.receive(Self.event(nil, type: "message_delta"))?.type == "message_delta")
        #expect(handover.start(latestOffset: 9, history: []) == nil, "once only")
    }

    @Test func withoutSinceNothingIsReplayed() {
        var handover = HistoryHandover(since: nil)
        let result = handover.start(latestOffset: 2, history: [Self.event(1), Self.event(2)])
        #expect(result?.replay.isEmpty == true)
        #expect(result?.live.isEmpty == true)
        #expect(handover.receive(Self.event(2)) == nil)
        #expect(handover.receive(Self.event(3))?.offset == 3)
    }

    @Test func theReplayEndsAtTheLatestOffsetReadFirst() {
        // An event stored between the two reads is in the events but above latestOffset: it comes live.
        var handover = HistoryHandover(since: 0)
        let result = handover.start(latestOffset: 2, history: [Self.event(1), Self.event(2), Self.event(3)])
        #expect(result?.replay.map(\.offset) == [1, 2])
        #expect(handover.receive(Self.event(3))?.offset == 3)
    }

    @Test func aSinceAboveTheLatestOffsetReplaysNothing() {
        // Offsets restart at 1 after a restart: the client's id is from before.
        var handover = HistoryHandover(since: 500)
        let result = handover.start(latestOffset: 3, history: [])
        #expect(result?.replay.isEmpty == true)
        #expect(handover.receive(Self.event(4))?.offset == 4)
    }

    @Test func theStaticRules() {
        #expect(HistoryHandover.isReplayed(Self.event(2), since: 1, latestOffset: 2))
        #expect(!HistoryHandover.isReplayed(Self.event(1), since: 1, latestOffset: 2))
        #expect(!HistoryHandover.isReplayed(Self.event(3), since: 1, latestOffset: 2))
        #expect(!HistoryHandover.isReplayed(Self.event(nil), since: 0, latestOffset: 2))
        #expect(HistoryHandover.isLive(Self.event(3), cutoff: 2))
        #expect(!HistoryHandover.isLive(Self.event(2), cutoff: 2))
        #expect(HistoryHandover.isLive(Self.event(nil), cutoff: 2))
    }
}

import Foundation
@testable import Hub
import NIOCore
import SocketIO
import TestSupport
import Testing

/// ``SSESessionState`` (the `/sse` protocol logic, no I/O) and ``SSEMessage`` (its wire format).
@Suite struct SSESessionStateTests {
    static func event(_ offset: UInt64?, type: String = "alert_created", namespace: String = "/monitoring",
                      room: String = "ops") -> HubEvent {
        var event = HubEvent(type: type, namespace: namespace, room: room, data: ["level": "warning"], source: "test")
        event.offset = offset
        return event
    }

    static func state(types: [String]? = nil, lastEventID: UInt64? = nil, maxBufferedBytes: Int = 100) -> SSESessionState {
        SSESessionState(namespace: "/monitoring", room: "ops", types: types, lastEventID: lastEventID,
                        maxBufferedBytes: maxBufferedBytes, reconnectDelay: 2000)
    }

    // MARK: - Start, replay, live

    @Test func startSendsRetrySubscribesAndStartsTheHeartbeat() {
        var state = Self.state(types: ["alert_created", "task_failed"], lastEventID: 7)
        #expect(state.phase == .idle)
        #expect(state.start() == [
            .send(.retry(milliseconds: 2000)),
            .startSubscription(filter: EventFilter(namespace: "/monitoring", room: "ops", types: ["alert_created", "task_failed"]),
                               since: 7),
            .startHeartbeat,
        ])
        #expect(state.phase == .starting)
        #expect(state.start() == [], "once only")
    }

    @Test func withoutATypeFilterTheBroadcasterFilterTakesEveryType() {
        var state = SSESessionState(namespace: "/", room: "lobby", types: nil, lastEventID: nil, maxBufferedBytes: 1)
        #expect(state.start() == [.startSubscription(filter: EventFilter(namespace: "/", room: "lobby", types: nil), since: nil),
                                  .startHeartbeat])
    }

    @Test func replayThenHeldLiveEventsThenLiveWithoutDuplicates() {
        var state = Self.state(lastEventID: 1)
        _ = state.start()
        let e2 = Self.event(2), e3 = Self.event(3), e4 = Self.event(4)
        let ephemeral = Self.event(nil, type: "typing_indicator")
        // Live events while the history is read: held.
        #expect(state.receive(event: e3) == [])
        #expect(state.receive(event: e4) == [])
        #expect(state.receive(event: ephemeral) == [])
        #expect(state.subscriptionStarted(latestOffset: 3, history: [Self.event(1), e2, e3]) == [
            .replay(.event(e2)), .replay(.event(e3)), .send(.event(e4)), .send(.event(ephemeral)),
        ])
        #expect(state.phase == .live)
        #expect(state.receive(event: e3) == [], "replayed already")
        let e5 = Self.event(5)
        #expect(state.receive(event: e5) == [.send(.event(e5))])
        #expect(state.subscriptionStarted(latestOffset: 9, history: []) == [], "once only")
    }

    @Test func typesFilterReplayAndLiveByExactBytes() {
        var state = Self.state(types: ["task_failed", "caf\u{E9}"], lastEventID: 0)
        _ = state.start()
        let failed = Self.event(1, type: "task_failed")
        let started = Self.event(2, type: "task_started")
        #expect(state.subscriptionStarted(latestOffset: 2, history: [failed, started]) == [.replay(.event(failed))])
        // "café" spelled with a combining accent is canonically equal as a Swift String, not as bytes.
        let decomposed = Self.event(3, type: "cafe\u{301}")
        #expect("cafe\u{301}" == "caf\u{E9}")
        #expect(state.receive(event: decomposed) == [])
        let composed = Self.event(4, type: "caf\u{E9}")
        #expect(state.receive(event: composed) == [.send(.event(composed))])
    }

    @Test func otherRoomsAndNamespacesAreIgnoredByBytes() {
        var state = Self.state()
        _ = state.start()
        _ = state.subscriptionStarted(latestOffset: 0, history: [])
        #expect(state.receive(event: Self.event(1, namespace: "/")) == [])
        #expect(state.receive(event: Self.event(2, room: "Ops")) == [])
        let mine = Self.event(3)
        #expect(state.receive(event: mine) == [.send(.event(mine))])
    }

    // MARK: - Heartbeat, slow consumers, closing

    @Test func heartbeatsWhileOpen() {
        var state = Self.state()
        #expect(state.heartbeat() == [], "not started")
        _ = state.start()
        #expect(state.heartbeat() == [.send(.heartbeat)])
        _ = state.subscriptionStarted(latestOffset: 0, history: [])
        #expect(state.heartbeat() == [.send(.comment("ping"))])
        _ = state.connectionClosed()
        #expect(state.heartbeat() == [])
    }

    @Test func writingPastTheBoundWhileNotWritableClosesAsASlowConsumer() {
        var state = Self.state(maxBufferedBytes: 100)
        _ = state.start()
        _ = state.subscriptionStarted(latestOffset: 0, history: [])
        #expect(state.wrote(bytes: 60, channelWritable: false) == [])
        #expect(state.wrote(bytes: 40, channelWritable: false) == [], "at the bound, not past it")
        // Writable again: the count starts over.
        #expect(state.wrote(bytes: 10, channelWritable: true) == [])
        #expect(state.wrote(bytes: 100, channelWritable: false) == [])
        #expect(state.wrote(bytes: 1, channelWritable: false) == [.cancelHeartbeat, .endSubscription, .close(.slowConsumer)])
        #expect(state.phase == .closed)
        #expect(state.receive(event: Self.event(9)) == [])
        #expect(state.wrote(bytes: 1000, channelWritable: false) == [])
        #expect(state.connectionClosed() == [], "already ended")
    }

    @Test func closingEndsTheSubscriptionAndTheHeartbeatOnce() {
        var state = Self.state()
        #expect(state.connectionClosed() == [], "nothing started")
        var started = Self.state()
        _ = started.start()
        #expect(started.connectionClosed() == [.cancelHeartbeat, .endSubscription])
        #expect(started.connectionClosed() == [])
        #expect(started.subscriptionStarted(latestOffset: 1, history: [Self.event(1)]) == [])
    }

    // MARK: - Wire format

    @Test func eventMessageHasIdEventAndOneLineOfData() throws {
        let event = Self.event(58)
        let text = SSEMessage.event(event).text
        let timestamp = try #require(event.json["timestamp"]?.stringValue)
        #expect(text == """
            id: 58
            event: alert_created
            data: {"id":"\(event.id)","type":"alert_created","room":"ops","namespace":"/monitoring",\
            "data":{"level":"warning"},"timestamp":"\(timestamp)","source":"test","offset":58}


            """)
    }

    @Test func ephemeralEventsHaveNoIdLine() {
        let event = Self.event(nil, type: "typing_indicator")
        #expect(SSEMessage.event(event).text.hasPrefix("event: typing_indicator\ndata: {"))
    }

    @Test func lineBreaksInDataAreEscapedAndATypeWithOneGetsNoEventLine() {
        var event = HubEvent(type: "evil\nevent: injected", namespace: "/", room: "r", data: ["text": "a\nb\r\nc"], source: "test")
        event.offset = 1
        let text = SSEMessage.event(event).text
        #expect(text.hasPrefix("id: 1\ndata: {"))
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("event:") })
        #expect(text.filter { $0 == "\n" }.count == 3, "id, data, blank line: \(text)")
        #expect(!text.contains("\r"))
    }

    @Test func anyChunkingParsesToTheSameMessages() {
        var event = Self.event(7)
        event.data = ["text": "line\nbreak"]
        let text = SSEMessage.retry(milliseconds: 2000).text + SSEMessage.event(event).text + SSEMessage.heartbeat.text
        let expected = [TestSSEMessage(retry: "2000"), TestSSEMessage(id: "7", event: "alert_created", data: event.json.jsonString),
                        TestSSEMessage(comments: ["ping"])]
        let bytes = ByteBuffer(string: text)
        for split in 0...bytes.readableBytes {
            var parser = TestSSEParser()
            let head = bytes.getSlice(at: 0, length: split)!, tail = bytes.getSlice(at: split, length: bytes.readableBytes - split)!
            #expect(parser.feed(head.readableBytesView) + parser.feed(tail.readableBytesView) == expected, "split at \(split)")
        }
        var crlf = TestSSEParser()
        #expect(crlf.feed(ByteBuffer(string: "id: 1\r\ndata: a\r").readableBytesView) == [])
        #expect(crlf.feed(ByteBuffer(string: "\n\r\n").readableBytesView) == [TestSSEMessage(id: "1", data: "a")])
    }

    @Test func controlMessages() {
        #expect(SSEMessage.heartbeat.text == ": ping\n\n")
        #expect(SSEMessage.retry(milliseconds: 2000).text == "retry: 2000\n\n")
        #expect(SSEMessage.comment("a\nb").text == ": \n\n")
    }
}

import EngineIO
import NIOCore
import Testing

@testable import SocketIO

@Suite("Connection-state recovery store")
struct SessionRecoveryStoreTests {
    let t0 = NIODeadline.uptimeNanoseconds(10_000_000_000)

    func packet(_ text: String) -> [EncodedPacket] {
        [EncodedPacket(kind: .text, bytes: ByteBuffer(string: text))]
    }

    func session(_ pid: String, rooms: Set<String>, at time: NIODeadline) -> PersistedSession {
        PersistedSession(socketID: "sid-\(pid)", privateID: pid, rooms: rooms, userInfo: ["user": "u1"], disconnectedAt: time)
    }

    @Test func restoresMissedBroadcastsForTheSessionRoomsOnly() {
        var store = SessionRecoveryStore(configuration: ConnectionStateRecovery())
        let first = store.nextOffset()
        store.record(offset: first, options: BroadcastOptions(), packets: self.packet("all-1"), now: self.t0)
        store.persist(self.session("p1", rooms: ["sid-p1", "room-a"], at: self.t0))
        for (text, rooms) in [("a-2", ["room-a"]), ("b-3", ["room-b"]), ("all-4", []), ("a-but-except-5", ["room-a"])] {
            let offset = store.nextOffset()
            let except: Set<String> = text.hasPrefix("a-but") ? ["sid-p1"] : []
            store.record(offset: offset, options: BroadcastOptions(rooms: Set(rooms), except: except), packets: self.packet(text), now: self.t0)
        }
        let restored = store.restore(privateID: "p1", offset: first, now: self.t0 + .seconds(1))
        #expect(restored?.session.socketID == "sid-p1")
        #expect(restored?.session.rooms == ["sid-p1", "room-a"])
        let texts = restored?.missedPackets.map { String(buffer: $0[0].bytes) }
        #expect(texts == ["a-2", "all-4"])
        #expect(restored?.replayedThrough == 5)
        let result1 = store.restore(privateID: "p1", offset: first, now: self.t0 + .seconds(1))
        #expect(result1 != nil, "kept until taken: a refused attempt can retry")
        let result2 = store.take(privateID: "p1")
        #expect(result2)
        let result3 = store.take(privateID: "p1")
        #expect(!result3, "a session is taken once")
        let result4 = store.restore(privateID: "p1", offset: first, now: self.t0 + .seconds(1))
        #expect(result4 == nil)
    }

    @Test func clientBehindAnAgedOutBroadcastIsNotRecovered() {
        var configuration = ConnectionStateRecovery()
        configuration.maxDisconnectionDuration = .seconds(2)
        var store = SessionRecoveryStore(configuration: configuration)
        let received = store.nextOffset()
        store.record(offset: received, options: BroadcastOptions(), packets: self.packet("received"), now: self.t0)
        let lost = store.nextOffset()
        store.record(offset: lost, options: BroadcastOptions(), packets: self.packet("lost in flight"), now: self.t0)
        let later = store.nextOffset()
        store.record(offset: later, options: BroadcastOptions(), packets: self.packet("later"), now: self.t0 + .seconds(3))
        store.persist(self.session("dead", rooms: [], at: self.t0 + .seconds(3)))
        let result = store.restore(privateID: "dead", offset: received, now: self.t0 + .seconds(3))
        #expect(result == nil, "'lost in flight' aged out after the client's offset: it cannot be replayed")
    }

    @Test func quietRoomRecoversAfterTheLogAgedOut() {
        var configuration = ConnectionStateRecovery()
        configuration.maxDisconnectionDuration = .seconds(2)
        var store = SessionRecoveryStore(configuration: configuration)
        let offset = store.nextOffset()
        store.record(offset: offset, options: BroadcastOptions(), packets: self.packet("old"), now: self.t0)
        // Nothing for longer than maxDisconnectionDuration, then a short drop.
        let dropAt = self.t0 + .seconds(3)
        store.persist(self.session("quiet", rooms: ["sid-quiet"], at: dropAt))
        store.compact(now: dropAt + .milliseconds(300))
        #expect(store.loggedCount == 1, "the newest broadcast is never dropped by age")
        let restored = store.restore(privateID: "quiet", offset: offset, now: dropAt + .milliseconds(300))
        #expect(restored != nil, "the client has the newest broadcast, so nothing is missing")
        #expect(restored?.missedPackets.isEmpty == true)
    }

    @Test func upToDateClientMissesNothing() {
        var store = SessionRecoveryStore(configuration: ConnectionStateRecovery())
        let offset = store.nextOffset()
        store.record(offset: offset, options: BroadcastOptions(), packets: self.packet("x"), now: self.t0)
        store.persist(self.session("p1", rooms: ["sid-p1"], at: self.t0))
        let restored = store.restore(privateID: "p1", offset: offset, now: self.t0)
        #expect(restored != nil)
        #expect(restored?.missedPackets.isEmpty == true)
    }

    @Test func expiredSessionsAndUnknownOffsetsAreNotRestored() {
        var configuration = ConnectionStateRecovery()
        configuration.maxDisconnectionDuration = .seconds(2)
        var store = SessionRecoveryStore(configuration: configuration)
        let offset = store.nextOffset()
        store.record(offset: offset, options: BroadcastOptions(), packets: self.packet("x"), now: self.t0)
        _ = store.nextOffset()
        store.persist(self.session("late", rooms: [], at: self.t0))
        let result5 = store.restore(privateID: "late", offset: offset, now: self.t0 + .seconds(3))
        #expect(result5 == nil)
        let result6 = store.take(privateID: "late")
        #expect(!result6, "an expired session is forgotten")
        store.persist(self.session("bad", rooms: [], at: self.t0))
        let result7 = store.restore(privateID: "bad", offset: "999", now: self.t0)
        #expect(result7 == nil)
        store.persist(self.session("garbage", rooms: [], at: self.t0))
        let result8 = store.restore(privateID: "garbage", offset: "not-a-number", now: self.t0)
        #expect(result8 == nil)
        let result9 = store.restore(privateID: "unknown", offset: offset, now: self.t0)
        #expect(result9 == nil)
    }

    @Test func logIsBoundedByCountAndAge() {
        var configuration = ConnectionStateRecovery()
        configuration.maxPackets = 3
        configuration.maxDisconnectionDuration = .seconds(10)
        var store = SessionRecoveryStore(configuration: configuration)
        var offsets: [String] = []
        for index in 0..<5 {
            let offset = store.nextOffset()
            offsets.append(offset)
            store.record(offset: offset, options: BroadcastOptions(), packets: self.packet("\(index)"), now: self.t0)
        }
        #expect(store.loggedCount == 3)
        store.persist(self.session("p", rooms: [], at: self.t0))
        let result10 = store.restore(privateID: "p", offset: offsets[0], now: self.t0)
        #expect(result10 == nil, "offset 2 was evicted by count: it may be lost")
        let result11 = store.restore(privateID: "p", offset: offsets[1], now: self.t0)
        #expect(result11?.missedPackets.count == 3)
        store.compact(now: self.t0 + .seconds(11))
        #expect(store.loggedCount == 1, "all but the newest dropped by age")
    }

    @Test func sessionsAreBounded() {
        var configuration = ConnectionStateRecovery()
        configuration.maxSessions = 2
        var store = SessionRecoveryStore(configuration: configuration)
        store.persist(self.session("a", rooms: [], at: self.t0))
        store.persist(self.session("b", rooms: [], at: self.t0 + .seconds(1)))
        store.persist(self.session("c", rooms: [], at: self.t0 + .seconds(2)))
        #expect(store.sessionCount == 2)
        let offset = store.nextOffset()
        store.record(offset: offset, options: BroadcastOptions(), packets: self.packet("x"), now: self.t0)
        let result12 = store.restore(privateID: "a", offset: offset, now: self.t0 + .seconds(2))
        #expect(result12 == nil, "the oldest was evicted")
        let result13 = store.restore(privateID: "c", offset: offset, now: self.t0 + .seconds(2))
        #expect(result13 != nil)
    }
}

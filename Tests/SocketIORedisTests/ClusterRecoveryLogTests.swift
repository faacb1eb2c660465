import NIOCore
import SocketIO
@testable import SocketIORedis
import Testing

/// The per-node mirror of the cluster stream used for recovery.
@Suite("Cluster recovery log")
struct ClusterRecoveryLogTests {
    let start = StreamID(milliseconds: 100, sequence: 0)
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func packet(_ n: Int) -> SocketPacket {
        SocketPacket(type: .event, namespace: "/", data: ["n", .number(Double(n))])
    }

    func session(rooms: Set<String> = ["sid", "news"], at: NIODeadline) -> PersistedSession {
        PersistedSession(socketID: "sid", privateID: "pid", rooms: rooms, userInfo: [:], disconnectedAt: at)
    }

    func id(_ ms: UInt64) -> StreamID { StreamID(milliseconds: ms, sequence: 0) }

    @Test func replaysWhatTheRoomsMissedUpToTheLoopsWatermark() throws {
        var log = ClusterRecoveryLog(configuration: ConnectionStateRecovery(), start: self.start)
        log.record(id: self.id(101), options: BroadcastOptions(rooms: ["news"]), packet: self.packet(1), now: self.t0)
        log.record(id: self.id(102), options: BroadcastOptions(rooms: ["other"]), packet: self.packet(2), now: self.t0)
        log.record(id: self.id(103), options: BroadcastOptions(), packet: self.packet(3), now: self.t0)
        log.record(id: self.id(104), options: BroadcastOptions(except: ["news"]), packet: self.packet(4), now: self.t0)
        log.record(id: self.id(105), options: BroadcastOptions(rooms: ["news"]), packet: self.packet(5), now: self.t0)
        log.persist(self.session(at: self.t0))
        let restoredResult = log.restore(privateID: "pid", offset: "101-0", through: self.id(104), now: self.t0)
        let restored = try #require(restoredResult)
        #expect(restored.0.session.socketID == "sid")
        #expect(restored.1 == [self.packet(3)], "room filter, except, and nothing past the watermark (105 comes live)")
        let allResult = log.restore(privateID: "pid", offset: "101-0", through: self.id(105), now: self.t0)
        let all = try #require(allResult)
        #expect(all.1 == [self.packet(3), self.packet(5)])
        let taken = log.take(privateID: "pid")
        #expect(taken)
        let again = log.take(privateID: "pid")
        #expect(!again)
        let r1 = log.restore(privateID: "pid", offset: "101-0", through: self.id(105), now: self.t0)
        #expect(r1 == nil)
    }

    @Test func refusesOffsetsItCannotVouchFor() {
        var configuration = ConnectionStateRecovery()
        configuration.maxPackets = 2
        var log = ClusterRecoveryLog(configuration: configuration, start: self.start)
        log.persist(self.session(at: self.t0))
        for ms in 101...104 {
            log.record(id: self.id(UInt64(ms)), options: BroadcastOptions(), packet: self.packet(ms), now: self.t0)
        }
        #expect(log.droppedThrough == self.id(102))
        let r2 = log.restore(privateID: "pid", offset: "99-0", through: self.id(104), now: self.t0)
        #expect(r2 == nil, "before this node started")
        let r3 = log.restore(privateID: "pid", offset: "101-0", through: self.id(104), now: self.t0)
        #expect(r3 == nil, "trimmed")
        let r4 = log.restore(privateID: "pid", offset: "105-0", through: self.id(104), now: self.t0)
        #expect(r4 == nil, "from the future")
        let r5 = log.restore(privateID: "pid", offset: "garbage", through: self.id(104), now: self.t0)
        #expect(r5 == nil)
        let r6 = log.restore(privateID: "pid", offset: "102-0", through: self.id(104), now: self.t0)
        #expect(r6?.1.count == 2)
    }

    @Test func expiredSessionsAreNotRestored() {
        var log = ClusterRecoveryLog(configuration: ConnectionStateRecovery(), start: self.start)
        log.persist(self.session(at: self.t0))
        let later = self.t0 + .milliseconds(120_001)
        let r7 = log.restore(privateID: "pid", offset: "100-0", through: self.start, now: later)
        #expect(r7 == nil)
        #expect(log.sessionCount == 0)
    }

    @Test func connectedRecordsAreRestoredAndAgeFromTheirNodesLastSignOfLife() throws {
        var log = ClusterRecoveryLog(configuration: ConnectionStateRecovery(), start: self.start)
        log.record(id: self.id(101), options: BroadcastOptions(rooms: ["news"]), packet: self.packet(1), now: self.t0)
        log.persist(self.session(rooms: ["sid"], at: self.t0), origin: "nodeA", connected: true)
        log.persist(self.session(at: self.t0 + .seconds(1)), origin: "nodeA", connected: true)  // joined "news": latest wins
        log.noteAlive(origin: "nodeA", now: self.t0 + .seconds(100))
        let result = log.restore(privateID: "pid", offset: "100-0", through: self.id(101), now: self.t0 + .seconds(200))
        let restored = try #require(result, "100 s after the node's last heartbeat: still within 120 s")
        #expect(restored.0.connected)
        #expect(restored.0.origin == "nodeA")
        #expect(restored.0.session.rooms == ["sid", "news"])
        #expect(restored.1 == [self.packet(1)])
        let expired = log.restore(privateID: "pid", offset: "100-0", through: self.id(101), now: self.t0 + .seconds(221))
        #expect(expired == nil, "the node went silent 121 s ago")
        #expect(log.sessionCount == 0)
    }

    @Test func aDisconnectRecordReplacesTheConnectedOneAndAgesFromTheDisconnect() throws {
        var log = ClusterRecoveryLog(configuration: ConnectionStateRecovery(), start: self.start)
        log.persist(self.session(at: self.t0), origin: "nodeA", connected: true)
        log.persist(self.session(at: self.t0 + .seconds(5)), origin: "nodeA")
        log.noteAlive(origin: "nodeA", now: self.t0 + .seconds(200))
        let kept = try #require(log.kept(privateID: "pid"))
        #expect(!kept.connected)
        let late = log.restore(privateID: "pid", offset: "100-0", through: self.start, now: self.t0 + .seconds(126))
        #expect(late == nil, "a disconnected session ages from its disconnect, whatever its node does")
    }

    @Test func aTakeoverCoversOnlyTheRecordsItsNodeHadReadAndNotARestoreUnderWay() {
        var log = ClusterRecoveryLog(configuration: ConnectionStateRecovery(), start: self.start)
        log.persist(self.session(at: self.t0), origin: "A", connected: true, entry: self.id(110))
        let stale = log.take(privateID: "pid", seen: self.id(105))
        #expect(!stale, "B restored before it read this record: a later connection's")
        #expect(log.kept(privateID: "pid") != nil)
        // A restore here took its snapshot; B's takeover (which had read the record) is read before
        // the restore takes the session: the restore still gets it, once.
        let covered = log.take(privateID: "pid", seen: self.id(110))
        #expect(covered)
        #expect(log.kept(privateID: "pid") == nil)
        let fresh = log.restore(privateID: "pid", offset: "100-0", through: self.start, now: self.t0)
        #expect(fresh == nil, "a new restore does not get a record taken over")
        let resumed = log.restore(privateID: "pid", offset: "100-0", through: self.start, now: self.t0, resuming: true)
        #expect(resumed != nil, "the second snapshot of the restore under way does")
        let mine = log.take(privateID: "pid")
        #expect(mine)
        let again = log.take(privateID: "pid")
        #expect(!again)
    }

    @Test func anOffsetSlightlyAheadOfThisNodesReaderIsAcceptedWithNothingToReplay() throws {
        var log = ClusterRecoveryLog(configuration: ConnectionStateRecovery(), start: self.start)
        log.record(id: self.id(101), options: BroadcastOptions(), packet: self.packet(1), now: self.t0)
        log.persist(self.session(at: self.t0))
        let strict = log.restore(privateID: "pid", offset: "103-0", through: self.id(101), now: self.t0)
        #expect(strict == nil, "not read here yet, and no lag allowed")
        let laggingResult = log.restore(privateID: "pid", offset: "103-0", through: self.id(101), now: self.t0, ahead: 5)
        let lagging = try #require(laggingResult)
        #expect(lagging.1.isEmpty)
        let far = log.restore(privateID: "pid", offset: "200-0", through: self.id(101), now: self.t0, ahead: 5)
        #expect(far == nil, "beyond the lag allowed: not an offset of this stream")
    }
}

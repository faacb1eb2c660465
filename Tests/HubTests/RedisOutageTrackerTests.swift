import NIOCore
import Testing

@testable import Hub

@Suite("Redis outage tracking")
struct RedisOutageTrackerTests {
    @Test func firstConnectIsNoOutage() {
        var tracker = RedisOutageTracker()
        #expect(!tracker.isConnected)
        #expect(tracker.connected() == .none)
        #expect(tracker.isConnected)
        #expect(tracker.outages == 0)
    }

    @Test func dropAndRetriesCountOnceAndEndWhenBack() {
        var tracker = RedisOutageTracker()
        _ = tracker.connected()
        let start = NIODeadline.uptimeNanoseconds(1_000)
        #expect(tracker.disconnected(at: start) == .outageBegan)
        #expect(!tracker.isConnected)
        #expect(tracker.disconnected(at: start + .seconds(1)) == .none)
        #expect(tracker.disconnected(at: start + .seconds(2)) == .none)
        #expect(tracker.outages == 1)
        #expect(tracker.connected() == .outageEnded(since: start))
        #expect(tracker.isConnected)
        #expect(tracker.disconnected(at: start + .seconds(5)) == .outageBegan)
        #expect(tracker.outages == 2)
    }

    @Test func redisAwayAtStartIsAnOutage() {
        var tracker = RedisOutageTracker()
        let start = NIODeadline.uptimeNanoseconds(7)
        #expect(tracker.disconnected(at: start) == .outageBegan)
        #expect(tracker.outages == 1)
        #expect(tracker.connected() == .outageEnded(since: start))
    }
}

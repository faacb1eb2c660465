import NIOCore
@testable import SocketIORedis
import Testing

/// This node's session entries against other nodes' entries about the same private id.
@Suite("Session entry order")
struct SessionEntryOrderTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func aForeignEntryReadWhileAnOwnOneIsInFlightIsSuperseded() {
        var order = SessionEntryOrder(expiry: .seconds(5))
        #expect(!order.supersedes(privateID: "p", now: self.t0))
        order.published(privateID: "p", now: self.t0)
        #expect(order.supersedes(privateID: "p", now: self.t0), "it precedes ours in the stream")
        #expect(!order.supersedes(privateID: "q", now: self.t0))
        let applied = order.readBack(privateID: "p")
        #expect(applied, "the newest own entry is applied")
        #expect(!order.supersedes(privateID: "p", now: self.t0), "read after ours: newer, applied")
        #expect(order.count == 0)
    }

    @Test func anOwnEntryFollowedByAnotherOwnOneIsSuperseded() {
        var order = SessionEntryOrder(expiry: .seconds(5))
        order.published(privateID: "p", now: self.t0)  // the disconnect record
        order.published(privateID: "p", now: self.t0)  // the takeover of the reconnect that followed
        let record = order.readBack(privateID: "p")
        #expect(!record, "the record is older than the takeover still in flight")
        let takeover = order.readBack(privateID: "p")
        #expect(takeover)
    }

    @Test func aFailedOrLostOwnEntryStopsSuperseding() {
        var order = SessionEntryOrder(expiry: .seconds(5))
        order.published(privateID: "p", now: self.t0)
        order.failed(privateID: "p")
        #expect(!order.supersedes(privateID: "p", now: self.t0))
        order.published(privateID: "p", now: self.t0)
        #expect(!order.supersedes(privateID: "p", now: self.t0 + .seconds(6)), "never read back: presumed lost")
    }
}

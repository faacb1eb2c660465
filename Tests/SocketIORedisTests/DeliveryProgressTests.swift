@testable import SocketIORedis
import Testing

/// The per-loop bookkeeping that keeps a restore exactly once and in order.
@Suite("Delivery progress of one event loop")
struct DeliveryProgressTests {
    func id(_ ms: UInt64) -> StreamID { StreamID(milliseconds: ms, sequence: 0) }

    @Test func notesHowFarTheLoopDeliveredNeverBackwards() {
        var progress = DeliveryProgress()
        #expect(progress.deliveredThrough == .zero)
        progress.delivered(through: self.id(5))
        progress.delivered(through: self.id(3))
        #expect(progress.deliveredThrough == self.id(5))
    }

    @Test func aClientBehindTheLoopSkipsNothing() {
        var progress = DeliveryProgress()
        progress.delivered(through: self.id(10))
        progress.restore(socketID: "s", offset: self.id(7))
        #expect(progress.skipThrough.isEmpty, "8…10 come from the replay, 11… live")
        #expect(progress.skipping(self.id(11)).isEmpty)
    }

    @Test func aClientAheadOfTheLoopSkipsWhatItHasUntilTheLoopCatchesUp() {
        var progress = DeliveryProgress()
        progress.delivered(through: self.id(10))
        // The client read 12 elsewhere; 11 and 12 are still queued on this loop.
        progress.restore(socketID: "s", offset: self.id(12))
        #expect(progress.skipping(self.id(11)) == ["s"])
        #expect(progress.skipping(self.id(12)) == ["s"])
        #expect(progress.skipping(self.id(13)).isEmpty)
        progress.delivered(through: self.id(11))
        #expect(progress.skipping(self.id(12)) == ["s"], "still ahead")
        progress.delivered(through: self.id(12))
        #expect(progress.skipThrough.isEmpty, "caught up: forgotten")
    }

    @Test func theLastSnapshotOfARestoreWins() {
        var progress = DeliveryProgress()
        progress.delivered(through: self.id(10))
        progress.restore(socketID: "s", offset: self.id(12))
        // The middlewares ran meanwhile and the loop delivered through 12: the final snapshot
        // replays up to 12, nothing to skip.
        progress.delivered(through: self.id(12))
        progress.restore(socketID: "s", offset: self.id(12))
        #expect(progress.skipThrough.isEmpty)
        progress.restore(socketID: "t", offset: self.id(20))
        progress.restore(socketID: "t", offset: self.id(11))
        #expect(progress.skipping(self.id(15)).isEmpty, "replaced, not kept")
    }
}

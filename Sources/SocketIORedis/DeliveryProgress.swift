/// How far the cluster stream has been delivered on one event loop, and which restored sockets must
/// skip live deliveries their client already has: the bookkeeping that makes a restore on that loop
/// exactly once and in order. A value type (no locking, no I/O); ``RedisAdapter`` keeps one per loop
/// and touches it on that loop only.
///
/// A restore on a loop replays the entries after the client's offset up to ``deliveredThrough``;
/// the newer ones reach the restored socket live, since their delivery runs on the same loop after
/// the restore. That holds only if ``delivered(through:)`` is noted in the same loop task as the
/// deliveries themselves (a restore between the two would replay too little). And a client may be
/// ahead of this loop: it read its offset on another loop or node that got there first, while
/// this loop still has that entry and some before it queued. Those reach the restored socket live
/// and must skip it: ``restore(socketID:offset:)`` remembers the offset, and ``skipping(_:)`` names
/// the sockets to skip until the loop has delivered past it.
struct DeliveryProgress: Sendable {
    /// The newest stream entry whose broadcasts were all handed to this loop's sockets.
    private(set) var deliveredThrough: StreamID = .zero
    /// Restored sockets (by socket id) whose client already has every entry up to the id.
    private(set) var skipThrough: [String: StreamID] = [:]

    /// An empty progress: nothing delivered yet.
    init() {}

    /// A session is being restored on this loop, as socket `socketID`, for a client holding
    /// `offset`; its replay covers the entries up to ``deliveredThrough``. If the client is ahead of
    /// this loop, live deliveries up to `offset` skip the socket. A later call for the same socket
    /// (the restore is snapshotted again once the middlewares ran) replaces the earlier one.
    mutating func restore(socketID: String, offset: StreamID) {
        if offset > self.deliveredThrough {
            self.skipThrough[socketID] = offset
        } else {
            self.skipThrough.removeValue(forKey: socketID)
        }
    }

    /// The sockets a live delivery of entry `id` skips: empty, without allocating, but in the few
    /// milliseconds after a restore whose client was ahead of this loop.
    func skipping(_ id: StreamID) -> Set<String> {
        guard !self.skipThrough.isEmpty else { return [] }
        var skipped = Set<String>()
        for (socketID, through) in self.skipThrough where id <= through { skipped.insert(socketID) }
        return skipped
    }

    /// The broadcasts of every entry up to `id` were handed to this loop's sockets.
    mutating func delivered(through id: StreamID) {
        guard id > self.deliveredThrough else { return }
        self.deliveredThrough = id
        if !self.skipThrough.isEmpty {
            self.skipThrough = self.skipThrough.filter { $0.value > id }
        }
    }
}

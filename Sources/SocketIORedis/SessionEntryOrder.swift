import NIOCore

/// Orders this node's session entries (records, takeovers, ends) against those other nodes write
/// about the same private id, by their place in the cluster stream. A value type (no locking, no
/// I/O); ``RedisAdapter`` keeps one behind a lock.
///
/// This node acts on its own session changes at once (it persists a disconnect, restores and takes
/// a session) and appends them to the stream; it reads them back later, in stream order with
/// everyone else's. An entry of another node about a private id that is read while one of this
/// node's own entries about it is still on its way is older than that entry in the stream: it is
/// superseded and must be ignored. Without that, a takeover announced by another node before this
/// node restored the session again (the client came back here in the meantime) closes the newer
/// connection and drops its session, and a stale record overwrites a newer one. Likewise an own
/// entry read back while a newer own entry is still on its way is superseded.
struct SessionEntryOrder: Sendable {
    private struct Pending: Sendable {
        var count: Int
        var since: NIODeadline
    }

    /// How long an own entry may stay unread before it is presumed lost (Redis restarted empty,
    /// say) and stops superseding others.
    let expiry: TimeAmount
    private var pending: [String: Pending] = [:]

    /// Nothing in flight.
    init(expiry: TimeAmount) {
        self.expiry = expiry
    }

    /// The number of private ids with own entries in flight.
    var count: Int { self.pending.count }

    /// An own entry about `privateID` was appended (or is being appended) to the stream.
    mutating func published(privateID: String, now: NIODeadline) {
        self.pending[privateID, default: Pending(count: 0, since: now)].count += 1
        self.pending[privateID]?.since = now
        if self.pending.count > 1024, self.pending.count % 1024 == 0 {
            self.pending = self.pending.filter { now - $0.value.since <= self.expiry }
        }
    }

    /// An own entry about `privateID` will never be read back (its append failed).
    mutating func failed(privateID: String) {
        self.settle(privateID)
    }

    /// An own entry about `privateID` was read back: returns whether it is the newest own entry
    /// about it (to be applied) rather than one superseded by a later own entry still in flight.
    mutating func readBack(privateID: String) -> Bool {
        self.settle(privateID)
        return self.pending[privateID] == nil
    }

    /// Whether an entry of another node about `privateID`, read at `now`, is older than an own
    /// entry still in flight (and to be ignored).
    func supersedes(privateID: String, now: NIODeadline) -> Bool {
        guard let pending = self.pending[privateID] else { return false }
        return now - pending.since <= self.expiry
    }

    private mutating func settle(_ privateID: String) {
        guard var pending = self.pending[privateID] else { return }
        pending.count -= 1
        if pending.count <= 0 {
            self.pending.removeValue(forKey: privateID)
        } else {
            self.pending[privateID] = pending
        }
    }
}

import NIOConcurrencyHelpers
import NIOCore

/// One token bucket per principal (its `sub`), for the HTTP publish API: thread-safe, and bounded —
/// at most ``maxPrincipals`` buckets; past it, buckets that are full again (their principal was
/// quiet long enough that forgetting it changes nothing) are dropped first, then the least recently
/// used.
final class PrincipalRateLimiter: Sendable {
    /// The most principals tracked at once.
    let maxPrincipals: Int
    private let limit: RateLimit
    private let buckets = NIOLockedValueBox<[ExactName: (bucket: TokenBucket, used: NIODeadline)]>([:])

    init(limit: RateLimit, maxPrincipals: Int = 10_000) {
        self.limit = limit
        self.maxPrincipals = maxPrincipals
    }

    /// Takes one token from `subject`'s bucket; `false` when it is empty.
    func take(subject: String, now: NIODeadline = .now()) -> Bool {
        let key = ExactName(subject)
        return self.buckets.withLockedValue { buckets in
            var entry = buckets[key] ?? (self.limit.bucket(now: now), now)
            let allowed = entry.bucket.take(now: now)
            entry.used = now
            buckets[key] = entry
            if buckets.count > self.maxPrincipals {
                Self.trim(&buckets, to: self.maxPrincipals * 9 / 10, now: now, limit: self.limit, keep: key)
            }
            return allowed
        }
    }

    /// How many principals are tracked.
    var count: Int { self.buckets.withLockedValue { $0.count } }

    private static func trim(_ buckets: inout [ExactName: (bucket: TokenBucket, used: NIODeadline)], to target: Int, now: NIODeadline,
                             limit: RateLimit, keep: ExactName) {
        // A bucket refills to full in burst / rate seconds: quiet that long, it is as good as new.
        let refill = TimeAmount.nanoseconds(Int64(Double(limit.burst) / limit.rate * 1_000_000_000))
        for (key, entry) in buckets where key != keep && now - entry.used >= refill {
            buckets.removeValue(forKey: key)
        }
        guard buckets.count > target else { return }
        let oldest = buckets.filter { $0.key != keep }.sorted { $0.value.used < $1.value.used }
        for (key, _) in oldest.prefix(buckets.count - target) {
            buckets.removeValue(forKey: key)
        }
    }
}

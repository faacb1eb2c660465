import NIOCore

/// A token bucket: `rate` tokens a second, holding at most `burst`. Each event takes one token; an
/// event that finds the bucket empty is over the limit. A value type, with the time passed in.
///
/// ```swift
/// var bucket = TokenBucket(rate: 200, burst: 400, now: .now())
/// if !bucket.take(now: .now()) { /* refuse: "rate limited" */ }
/// ```
public struct TokenBucket: Sendable, Hashable {
    /// Tokens added per second.
    public let rate: Double
    /// The most tokens held (the burst allowed after a quiet time).
    public let burst: Double
    private var tokens: Double
    private var updated: NIODeadline
    /// Events refused since the last one taken.
    public private(set) var refusedInARow = 0

    /// A full bucket.
    public init(rate: Double, burst: Double, now: NIODeadline) {
        precondition(rate > 0 && burst >= 1, "rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now
    }

    /// Takes one token if there is one; `false` (and one more refusal in a row) if the bucket is empty.
    public mutating func take(now: NIODeadline) -> Bool {
        if now > self.updated {
            let seconds = Double((now - self.updated).nanoseconds) / 1_000_000_000
            self.tokens = min(self.burst, self.tokens + seconds * self.rate)
            self.updated = now
        }
        guard self.tokens >= 1 else {
            self.refusedInARow += 1
            return false
        }
        self.tokens -= 1
        self.refusedInARow = 0
        return true
    }
}

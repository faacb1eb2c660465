import NIOCore

/// An inbound rate limit: events (or requests) per second and the burst allowed after a quiet time.
public struct RateLimit: Sendable, Hashable {
    /// Events per second, sustained.
    public var rate: Double
    /// Events allowed at once after a quiet time.
    public var burst: Int

    /// Creates a limit.
    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
    }

    /// A full bucket for this limit.
    func bucket(now: NIODeadline) -> TokenBucket {
        TokenBucket(rate: self.rate, burst: Double(self.burst), now: now)
    }
}

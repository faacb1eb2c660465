import NIOCore

/// Reconnect delays: exponential with a cap, minus random jitter so that many clients that lost
/// the same server do not come back in lockstep.
public struct RedisBackoff: Sendable, Hashable {
    /// The delay before the first retry. Default 100 ms.
    public var initialDelay: TimeAmount
    /// The longest delay. Default 5 s.
    public var maxDelay: TimeAmount
    /// The growth per failed attempt. Default 2.
    public var multiplier: Double
    /// The fraction of each delay that is random: a delay `d` becomes a value in `[d·(1-jitter), d]`.
    /// Default 0.5.
    public var jitter: Double

    /// A backoff with the given (or default) settings.
    public init(initialDelay: TimeAmount = .milliseconds(100), maxDelay: TimeAmount = .seconds(5),
                multiplier: Double = 2, jitter: Double = 0.5) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (0 for the first), with `random` in `0..<1`.
    public func delay(attempt: Int, random: Double) -> TimeAmount {
        let base = Double(self.initialDelay.nanoseconds) * pow(self.multiplier, Double(min(attempt, 62)))
        let capped = min(base, Double(self.maxDelay.nanoseconds))
        let jittered = capped * (1 - self.jitter * min(max(random, 0), 1))
        return .nanoseconds(Int64(jittered))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

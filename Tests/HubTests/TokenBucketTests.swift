import NIOCore
import Testing

@testable import Hub

@Suite("Token bucket and rate limiters")
struct TokenBucketTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func aFullBucketAllowsTheBurstThenTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 5, now: self.start)
        for _ in 0..<5 { do { let taken = bucket.take(now: self.start); #expect(taken) } }
        do { let taken = bucket.take(now: self.start); #expect(!taken) }
        do { let taken = bucket.take(now: self.start); #expect(!taken) }
        #expect(bucket.refusedInARow == 2)
        // 10 tokens a second: one every 100 ms.
        do { let taken = bucket.take(now: self.start + .milliseconds(50)); #expect(!taken) }
        do { let taken = bucket.take(now: self.start + .milliseconds(101)); #expect(taken) }
        #expect(bucket.refusedInARow == 0)
        do { let taken = bucket.take(now: self.start + .milliseconds(150)); #expect(!taken) }
        // Never more than the burst, however long the quiet.
        let later = self.start + .seconds(3600)
        for _ in 0..<5 { do { let taken = bucket.take(now: later); #expect(taken) } }
        do { let taken = bucket.take(now: later); #expect(!taken) }
    }

    @Test func aClockThatGoesBackAddsNothing() {
        var bucket = TokenBucket(rate: 1, burst: 1, now: self.start + .seconds(10))
        do { let taken = bucket.take(now: self.start + .seconds(10)); #expect(taken) }
        do { let taken = bucket.take(now: self.start); #expect(!taken) }
        do { let taken = bucket.take(now: self.start + .seconds(11)); #expect(taken) }
    }

    @Test func aSocketIsRefusedThenDisconnectedAfterAWholeBurstRefused() {
        let limiter = SocketRateLimiter(limit: RateLimit(rate: 1, burst: 3), now: self.start)
        #expect((0..<3).map { _ in limiter.admit(now: self.start) } == [.allow, .allow, .allow])
        #expect(limiter.admit(now: self.start) == .refuse)
        #expect(limiter.admit(now: self.start) == .refuse)
        #expect(limiter.admit(now: self.start) == .disconnect, "three refused in a row: a whole burst")
    }

    @Test func principalsHaveTheirOwnBucketsAndTheTableIsBounded() {
        let limiter = PrincipalRateLimiter(limit: RateLimit(rate: 1, burst: 2), maxPrincipals: 10)
        #expect(limiter.take(subject: "a", now: self.start))
        #expect(limiter.take(subject: "a", now: self.start))
        #expect(!limiter.take(subject: "a", now: self.start))
        #expect(limiter.take(subject: "b", now: self.start), "another principal is not limited by a")
        #expect(limiter.take(subject: "\u{212A}", now: self.start))
        #expect(limiter.take(subject: "\u{212A}", now: self.start))
        #expect(limiter.take(subject: "K", now: self.start), "subjects are exact names: K is not KELVIN SIGN")
        for index in 0..<100 {
            _ = limiter.take(subject: "s\(index)", now: self.start + .milliseconds(Int64(index)))
        }
        #expect(limiter.count <= 10)
        // The principal just used is kept, its bucket down by one: one more token, then refused.
        #expect(limiter.take(subject: "s99", now: self.start + .milliseconds(99)))
        #expect(!limiter.take(subject: "s99", now: self.start + .milliseconds(99)))
    }
}

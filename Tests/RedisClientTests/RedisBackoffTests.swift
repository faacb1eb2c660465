import NIOCore
import RedisClient
import Testing

@Suite("Redis reconnect backoff")
struct RedisBackoffTests {
    @Test func growsExponentiallyUpToTheCap() {
        let backoff = RedisBackoff(initialDelay: .milliseconds(100), maxDelay: .seconds(2), multiplier: 2, jitter: 0.5)
        #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(backoff.delay(attempt: 1, random: 0) == .milliseconds(200))
        #expect(backoff.delay(attempt: 3, random: 0) == .milliseconds(800))
        #expect(backoff.delay(attempt: 5, random: 0) == .seconds(2))
        #expect(backoff.delay(attempt: 1000, random: 0) == .seconds(2))
    }

    @Test func jitterTakesAtMostItsFraction() {
        let backoff = RedisBackoff(initialDelay: .milliseconds(100), maxDelay: .seconds(2), multiplier: 2, jitter: 0.5)
        #expect(backoff.delay(attempt: 0, random: 1) == .milliseconds(50))
        #expect(backoff.delay(attempt: 0, random: 0.5) == .milliseconds(75))
        #expect(backoff.delay(attempt: 5, random: 0.999_999_999) > .seconds(1))
    }
}

import NIOCore
import SocketIO

/// The inbound rate limit of one socket (`eventRateLimit`, `eventRateBurst`): every event the
/// socket sends the hub's handlers takes a token. Kept in the socket's ``Socket/userInfo`` and used
/// on its event loop only.
final class SocketRateLimiter: @unchecked Sendable {
    /// What to do with an event.
    enum Verdict: Equatable {
        /// Handle it.
        case allow
        /// Refuse it (`{"ok":false,"error":"rate limited"}`).
        case refuse
        /// Refuse it and disconnect the socket: a whole burst refused in a row.
        case disconnect
    }

    private var bucket: TokenBucket

    init(limit: RateLimit, now: NIODeadline = .now()) {
        self.bucket = limit.bucket(now: now)
    }

    /// Takes a token for one event.
    func admit(now: NIODeadline = .now()) -> Verdict {
        if self.bucket.take(now: now) { return .allow }
        return Double(self.bucket.refusedInARow) >= self.bucket.burst ? .disconnect : .refuse
    }

    static let key = "hub.rateLimiter"

    /// The socket's limiter, made on first use.
    static func of(_ socket: Socket, limit: RateLimit) -> SocketRateLimiter {
        if let limiter = socket.userInfo[Self.key] as? SocketRateLimiter { return limiter }
        let limiter = SocketRateLimiter(limit: limit)
        socket.userInfo[Self.key] = limiter
        return limiter
    }
}

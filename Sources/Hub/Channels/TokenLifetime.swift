import Foundation
import NIOCore

/// The clock of one connection's token: a warning `warning` before the token's expiry, then the
/// expiry itself. Made again when the client refreshes its token in place. Used on the
/// connection's event loop only.
final class TokenLifetime: @unchecked Sendable {
    private var warningTask: Scheduled<Void>?
    private var expiryTask: Scheduled<Void>?

    /// Schedules `onWarning` `warning` before `expiresAt` (if that is still ahead and `warning` is
    /// positive) and `onExpiry` at `expiresAt`, replacing what was scheduled.
    func arm(expiresAt: Date, warning: TimeAmount, on eventLoop: EventLoop, now: Date = Date(),
             onWarning: @escaping () -> Void, onExpiry: @escaping () -> Void) {
        self.cancel()
        let remaining = TimeAmount.nanoseconds(Int64(max(0, expiresAt.timeIntervalSince(now)) * 1_000_000_000))
        let loop = eventLoop.assumeIsolated()
        if warning > .zero, remaining > warning {
            self.warningTask = loop.scheduleTask(in: remaining - warning) { onWarning() }
        }
        self.expiryTask = loop.scheduleTask(in: remaining) { onExpiry() }
    }

    /// Cancels what is scheduled.
    func cancel() {
        self.warningTask?.cancel()
        self.expiryTask?.cancel()
        self.warningTask = nil
        self.expiryTask = nil
    }

    deinit {
        self.cancel()
    }
}

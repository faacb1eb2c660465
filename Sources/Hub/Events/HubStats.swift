import Foundation
import NIOConcurrencyHelpers

/// Counters for the status API: when the hub started, events accepted and deliveries made.
public final class HubStats: Sendable {
    /// When the hub started.
    public let startedAt = Date()
    private let counters = NIOLockedValueBox<(received: Int, sent: Int)>((0, 0))

    /// Creates zeroed counters.
    public init() {}

    /// Events accepted for publishing (from sockets and the HTTP API).
    public var eventsReceived: Int { self.counters.withLockedValue { $0.received } }
    /// Deliveries made (one per receiving socket or stream subscriber).
    public var eventsSent: Int { self.counters.withLockedValue { $0.sent } }
    /// Seconds since start.
    public var uptime: TimeInterval { Date().timeIntervalSince(self.startedAt) }

    func record(received: Int, sent: Int) {
        self.counters.withLockedValue {
            $0.received += received
            $0.sent += sent
        }
    }
}

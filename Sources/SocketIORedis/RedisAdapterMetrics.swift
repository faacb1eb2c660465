import NIOConcurrencyHelpers

/// What a node's Redis link went through, for `/metrics`. Read ``snapshot`` from any thread.
public final class RedisAdapterMetrics: Sendable {
    /// The counters at one moment.
    public struct Snapshot: Sendable, Hashable {
        /// Whether the command connection to Redis is up.
        public var connected = false
        /// Times the connection to Redis was lost (each outage once).
        public var outages = 0
        /// Broadcasts and requests delivered on this node only because Redis was away.
        public var localOnlyDeliveries = 0
        /// Publishes (XADD/PUBLISH) that failed; the message was then delivered locally only.
        public var publishFailures = 0
        /// Stream entries read and handled.
        public var entriesRead = 0
        /// Stream entries that were not valid cluster messages (skipped).
        public var malformedEntries = 0
        /// Cluster requests that timed out waiting for other nodes.
        public var requestTimeouts = 0
    }

    private let box = NIOLockedValueBox(Snapshot())

    init() {}

    /// The counters now.
    public var snapshot: Snapshot { self.box.withLockedValue { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        self.box.withLockedValue(body)
    }
}

/// Why a cluster operation failed.
public enum RedisAdapterError: Error, Hashable, Sendable {
    /// Not every node answered a request in time: `received` answers of `expected`.
    case timeout(received: Int, expected: Int)
}

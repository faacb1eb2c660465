import NIOConcurrencyHelpers

/// Counts refused connections and handshakes by ``ConnectionRefusal``, for metrics
/// (`hub_connections_refused_total{reason}`). Shared by an ``EngineServer`` and the ``HTTPServer``
/// in front of it; safe from any thread.
public final class RefusalCounter: Sendable {
    private let counts = NIOLockedValueBox<[ConnectionRefusal: Int]>([:])

    /// Creates a counter at zero.
    public init() {}

    /// Counts one refusal.
    public func record(_ refusal: ConnectionRefusal) {
        self.counts.withLockedValue { $0[refusal, default: 0] += 1 }
    }

    /// How many refusals of each kind so far (every kind present, 0 if none).
    public var snapshot: [ConnectionRefusal: Int] {
        let counts = self.counts.withLockedValue { $0 }
        return Dictionary(uniqueKeysWithValues: ConnectionRefusal.allCases.map { ($0, counts[$0] ?? 0) })
    }
}

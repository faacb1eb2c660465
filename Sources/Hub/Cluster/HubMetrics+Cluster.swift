import NIOConcurrencyHelpers
import Prometheus

extension HubMetrics {
    /// With Redis: `hub_redis_connected` (1 while the hub's Redis connection is up) and
    /// `hub_redis_outages_total` (outages since start; the reconnect attempts of one outage count
    /// once). Without Redis neither series exists.
    func refreshCluster(from hub: Hub) {
        guard let cluster = hub.cluster else { return }
        self.registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "hub_redis_connected", unitName: "",
            helpText: "1 while the hub's connection to Redis is up, 0 during an outage.")
        ).set(to: cluster.isConnected ? 1 : 0)
        let outages = self.registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "hub_redis_outages", unitName: "total", helpText: "Redis outages since the hub started."))
        Self.mirroredOutages.withLockedValue { mirrored in
            let key = ObjectIdentifier(self)
            let count = cluster.outageCount
            let seen = mirrored[key, default: 0]
            if count > seen {
                outages.increment(by: Int64(count - seen))
                mirrored[key] = count
            }
        }
    }

    /// The outage counts already added to each registry's counter (keyed by metrics object).
    private static let mirroredOutages = NIOLockedValueBox<[ObjectIdentifier: Int]>([:])
}

import Prometheus

extension HubMetrics {
    private static var sseConnections: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "hub_sse_connections", unitName: "", helpText: "Open /sse event streams on this node.")
    }

    private static var sseSlowConsumerCloses: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "hub_sse_slow_consumer_closes", unitName: "total",
            helpText: "/sse streams closed because the client read too slowly (more than sseMaxBufferedBytes written while it was not reading).")
    }

    /// Counts one `/sse` stream closed as a slow consumer (`hub_sse_slow_consumer_closes_total`).
    func recordSSESlowConsumerClose() {
        self.registry.makeCounter(descriptor: Self.sseSlowConsumerCloses).increment()
    }

    /// `hub_sse_connections` (gauge, this node's open streams) from ``Hub/sseStats``; makes sure
    /// `hub_sse_slow_consumer_closes_total` is exported (at 0) before the first close.
    func refreshSSE(from hub: Hub) {
        self.registry.makeGauge(descriptor: Self.sseConnections).set(to: Double(hub.sseStats.connections))
        _ = self.registry.makeCounter(descriptor: Self.sseSlowConsumerCloses)
    }
}

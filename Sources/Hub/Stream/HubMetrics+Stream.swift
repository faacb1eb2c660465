import Prometheus

extension HubMetrics {
    /// `hub_stream_connections` (open `/stream` WebSocket connections) and
    /// `hub_stream_subscriptions` (their subscriptions, all kinds), from ``Hub/streamStats``.
    func refreshStream(from hub: Hub) {
        let snapshot = hub.streamStats.snapshot
        self.registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "hub_stream_connections", unitName: "",
            helpText: "Open /stream WebSocket connections.")
        ).set(to: Double(snapshot.connections))
        self.registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "hub_stream_subscriptions", unitName: "",
            helpText: "Subscriptions of the open /stream connections.")
        ).set(to: Double(snapshot.subscriptions))
    }
}

import Logging
import NIOCore
import SocketIO

extension Hub {
    /// The cluster link for `redisURL`, if configured.
    static func makeCluster(configuration: HubConfiguration, group: EventLoopGroup, logger: Logger) -> HubCluster? {
        guard let url = configuration.parsedRedisURL else { return nil }
        var settings = HubCluster.Configuration(url: url)
        settings.statusInterval = .milliseconds(Int64(configuration.clusterStatusInterval))
        settings.historySize = configuration.historySize
        return HubCluster(configuration: settings, group: group, logger: logger)
    }

    /// Connects to Redis: events other nodes route reach the /stream subscribers here, and this
    /// node's counts are reported every `clusterStatusInterval`.
    func startCluster() {
        guard let cluster = self.cluster else { return }
        let broadcaster = self.broadcaster
        cluster.start { event in broadcaster.deliverRemote(event) }
        cluster.startStatusReports { [self] in await self.nodeReport() }
        self.logger.info("cluster node started", metadata: [
            "node": "\(cluster.uid)",
            "redis": "\(cluster.configuration.url.host):\(cluster.configuration.url.port)/\(cluster.configuration.url.database)",
        ])
    }

    /// This node's counts, as published to the cluster.
    func nodeReport() async -> NodeReport {
        let report = await StatusReport.gather(from: self)
        return NodeReport(id: self.cluster?.uid ?? "", address: "\(self.configuration.host):\(self.configuration.port)", report: report)
    }

    /// Leaves the cluster (this node's report is removed at once) and closes the Redis
    /// connections; nothing to do without Redis. Call after the HTTP server stopped.
    public func shutdown() async {
        await self.cluster?.shutdown()
    }
}

import SocketIO

extension HubAPIEndpoint {
    /// The body of `GET /api/websocket/status`: this node's ``StatusReport``; with Redis also
    /// `node` (this node's ``NodeReport``) and `cluster` (``ClusterStatus``: every live node and the
    /// totals). While Redis is away, `cluster` lists this node only and `cluster.redis` is
    /// `"unavailable"` (otherwise `"connected"`).
    func statusBody() async -> JSONValue {
        let report = await StatusReport.gather(from: self.hub)
        guard let cluster = self.hub.cluster, var body = report.json.objectValue else { return report.json }
        let local = NodeReport(id: cluster.uid, address: "\(self.hub.configuration.host):\(self.hub.configuration.port)", report: report)
        let nodes: [NodeReport]
        let redis: String
        do {
            nodes = try await cluster.nodes()
            redis = "connected"
        } catch {
            nodes = []
            redis = "unavailable"
        }
        var status = ClusterStatus(nodes: nodes, local: local).json.objectValue ?? JSONObject()
        status["redis"] = .string(redis)
        body["node"] = local.json
        body["cluster"] = .object(status)
        return .object(body)
    }

    /// The history answer's latest offset and events: from Redis when the hub has it, from the
    /// node's memory otherwise. A Redis failure is a 503.
    func historyEvents(_ query: HistoryQuery) async throws(APIError) -> (UInt64, [HubEvent]) {
        guard let cluster = self.hub.cluster else {
            let history = self.hub.history
            return (history.latestOffset(namespace: query.namespace, room: query.room),
                    history.events(namespace: query.namespace, room: query.room, since: query.since, limit: query.readLimit))
        }
        do {
            async let latest = cluster.history.latestOffset(namespace: query.namespace, room: query.room).get()
            async let events = cluster.history.events(namespace: query.namespace, room: query.room, since: query.since,
                                                      limit: query.readLimit).get()
            return try await (latest, events)
        } catch {
            throw APIError(status: .serviceUnavailable, error: "service unavailable", message: "the shared history (Redis) is unavailable")
        }
    }
}

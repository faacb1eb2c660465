import SocketIO

/// The `cluster` member of `GET /api/websocket/status`: every live node's ``NodeReport`` (sorted by
/// id) and their totals.
///
/// ```json
/// {"nodes": [{…node report…}, …],
///  "totals": {"nodes": 2, "connections": 7, "transports": {"polling": 1, "websocket": 6},
///             "namespaces": {"/chat": {"sockets": 4, "rooms": {"lobby": 4}}, …},
///             "rooms": {"admin": 0, "chat": 3, "monitoring": 1}}}
/// ```
///
/// Room member counts add up across nodes (a socket lives on one node). `totals.rooms` are the
/// rooms of `/`, with `chat`, `monitoring` and `admin` always listed, as in the node's `rooms`.
struct ClusterStatus: Sendable, Hashable {
    /// The live nodes.
    var nodes: [NodeReport]

    /// The nodes, sorted by id (this node's fresh report replaces its published one).
    init(nodes: [NodeReport], local: NodeReport) {
        var byID: [String: NodeReport] = [:]
        for node in nodes {
            byID[node.id] = node
        }
        byID[local.id] = local
        self.nodes = byID.keys.sorted().map { byID[$0]! }
    }

    /// The sums over every node.
    var totals: NodeReport.NamespaceCount.Totals {
        var totals = NodeReport.NamespaceCount.Totals()
        for node in self.nodes {
            totals.connections += node.connections
            for (name, count) in node.transports {
                totals.transports[name, default: 0] += count
            }
            for (name, entry) in node.namespaces {
                var sum = totals.namespaces[name] ?? NodeReport.NamespaceCount(sockets: 0, rooms: [:])
                sum.sockets += entry.sockets
                for (room, count) in entry.rooms {
                    sum.rooms[room, default: 0] += count
                }
                totals.namespaces[name] = sum
            }
        }
        return totals
    }

    /// The JSON form.
    var json: JSONValue {
        let totals = self.totals
        var rooms = totals.namespaces["/"]?.rooms ?? [:]
        for room in StatusReport.channelRooms where rooms[room] == nil {
            rooms[room] = 0
        }
        return [
            "nodes": .array(self.nodes.map(\.json)),
            "totals": [
                "nodes": .number(Double(self.nodes.count)),
                "connections": .number(Double(totals.connections)),
                "transports": NodeReport.object(totals.transports),
                "namespaces": NodeReport.object(totals.namespaces),
                "rooms": NodeReport.object(rooms),
            ],
        ]
    }
}

extension NodeReport.NamespaceCount {
    /// Sums over several nodes.
    struct Totals: Sendable, Hashable {
        var connections = 0
        var transports: [String: Int] = [:]
        var namespaces: [String: NodeReport.NamespaceCount] = [:]
    }
}

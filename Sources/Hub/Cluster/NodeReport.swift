import EngineIO
import SocketIO

/// One node's counts, as it publishes them to Redis every `clusterStatusInterval` and as
/// `GET /api/websocket/status` lists them under `node` and `cluster.nodes`:
///
/// ```json
/// {"id": "5f0c…", "address": "10.0.0.5:3000", "connections": 3,
///  "transports": {"polling": 1, "websocket": 2},
///  "namespaces": {"/": {"sockets": 3, "rooms": {"chat": 2}}, "/chat": {"sockets": 2, "rooms": {"lobby": 2}}},
///  "uptime_s": 5321, "version": "0.1.0"}
/// ```
struct NodeReport: Sendable, Hashable {
    /// Sockets and named rooms (with member counts) of one namespace.
    struct NamespaceCount: Sendable, Hashable {
        var sockets: Int
        var rooms: [String: Int]
    }

    /// The node's id (its ``HubCluster/uid``).
    var id: String
    /// Where it listens, `host:port`.
    var address: String
    /// Open Engine.IO sessions.
    var connections: Int
    /// Open sessions by transport name.
    var transports: [String: Int]
    /// Counts by namespace name.
    var namespaces: [String: NamespaceCount]
    /// Whole seconds since the node started.
    var uptimeSeconds: Int
    /// The hub version it runs.
    var version: String

    /// This node's entry, from its status report.
    init(id: String, address: String, report: StatusReport) {
        self.id = id
        self.address = address
        self.connections = report.connections
        var transports: [String: Int] = [:]
        for kind in EngineTransportKind.allCases {
            transports[kind.rawValue] = report.transports[kind] ?? 0
        }
        self.transports = transports
        self.namespaces = report.namespaces.mapValues { NamespaceCount(sockets: $0.sockets, rooms: $0.rooms) }
        self.uptimeSeconds = report.uptimeSeconds
        self.version = Hub.version
    }

    /// Reads an entry another node published; `nil` if it is not one (a foreign key, a newer
    /// format missing a member).
    init?(json value: JSONValue) {
        guard let object = value.objectValue,
              let id = object["id"]?.stringValue,
              let address = object["address"]?.stringValue,
              let connections = object["connections"]?.intValue,
              let transports = object["transports"]?.objectValue,
              let namespaces = object["namespaces"]?.objectValue,
              let uptime = object["uptime_s"]?.intValue,
              let version = object["version"]?.stringValue else {
            return nil
        }
        self.id = id
        self.address = address
        self.connections = connections
        self.uptimeSeconds = uptime
        self.version = version
        var transportCounts: [String: Int] = [:]
        for (name, count) in transports {
            guard let count = count.intValue else { return nil }
            transportCounts[name] = count
        }
        self.transports = transportCounts
        var namespaceCounts: [String: NamespaceCount] = [:]
        for (name, entry) in namespaces {
            guard let sockets = entry["sockets"]?.intValue, let rooms = entry["rooms"]?.objectValue else { return nil }
            var roomCounts: [String: Int] = [:]
            for (room, count) in rooms {
                guard let count = count.intValue else { return nil }
                roomCounts[room] = count
            }
            namespaceCounts[name] = NamespaceCount(sockets: sockets, rooms: roomCounts)
        }
        self.namespaces = namespaceCounts
    }

    /// The JSON form (names sorted).
    var json: JSONValue {
        [
            "id": .string(self.id),
            "address": .string(self.address),
            "connections": .number(Double(self.connections)),
            "transports": Self.object(self.transports),
            "namespaces": Self.object(self.namespaces),
            "uptime_s": .number(Double(self.uptimeSeconds)),
            "version": .string(self.version),
        ]
    }

    static func object(_ counts: [String: Int]) -> JSONValue {
        var object = JSONObject()
        for name in counts.keys.sorted() {
            object[name] = .number(Double(counts[name]!))
        }
        return .object(object)
    }

    static func object(_ namespaces: [String: NamespaceCount]) -> JSONValue {
        var object = JSONObject()
        for name in namespaces.keys.sorted() {
            let entry = namespaces[name]!
            object[name] = ["sockets": .number(Double(entry.sockets)), "rooms": Self.object(entry.rooms)]
        }
        return .object(object)
    }
}

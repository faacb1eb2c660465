import EngineIO
import NIOCore
import SocketIO

/// The body of `GET /api/websocket/status`:
///
/// ```json
/// {"status": "active", "connections": 3,
///  "rooms": {"admin": 0, "chat": 2, "monitoring": 1},
///  "namespaces": {"/": {"sockets": 3, "rooms": {…}}, "/chat": {"sockets": 2, "rooms": {"lobby": 2}}, …},
///  "transports": {"polling": 1, "websocket": 2},
///  "uptime_s": 5321, "events": {"received": 120, "sent": 480}, "version": "0.1.0",
///  "sse": {"connections": 1, "rooms": {"/": {}, "/admin": {}, "/chat": {}, "/monitoring": {"ops": 1}}}}
/// ```
///
/// Room counts leave out each socket's private room (its id). The rooms `chat`, `monitoring` and
/// `admin` of `/` are always listed, with 0 when empty. Names are sorted.
struct StatusReport: Sendable {
    /// The rooms of `/` always reported.
    static let channelRooms = ["chat", "monitoring", "admin"]

    /// Open Engine.IO sessions.
    var connections: Int
    /// Sockets and named rooms (with member counts) of each namespace.
    var namespaces: [String: (sockets: Int, rooms: [String: Int])]
    /// Open sessions by transport.
    var transports: [EngineTransportKind: Int]
    /// Whole seconds since the hub started.
    var uptimeSeconds: Int
    /// Events accepted for publishing.
    var eventsReceived: Int
    /// Deliveries made.
    var eventsSent: Int
    /// The `/stream` gateway's connections and subscriptions (key `stream`).
    var stream = StreamStats.Snapshot(connections: 0, subscriptions: 0, rooms: [:], allRooms: [:])
    /// This node's open `/sse` streams (``SSEStats/json``).
    var sse: JSONValue = SSEStats().json

    /// Gathers the report from `hub` (one hop to each event loop for rooms and transports).
    static func gather(from hub: Hub) async -> StatusReport {
        var namespaces: [String: (sockets: Int, rooms: [String: Int])] = [:]
        for name in ChannelPolicy.namespaces {
            namespaces[name] = (0, [:])
        }
        for namespace in hub.io.namespaces {
            namespaces[namespace.name] = await Self.census(of: namespace)
        }
        for room in Self.channelRooms where namespaces["/"]?.rooms[room] == nil {
            namespaces["/"]?.rooms[room] = 0
        }
        var report = StatusReport(
            connections: hub.io.engine.sessionCount,
            namespaces: namespaces,
            transports: await hub.io.engine.transportCounts(),
            uptimeSeconds: Int(hub.stats.uptime.rounded(.down)),
            eventsReceived: hub.stats.eventsReceived,
            eventsSent: hub.stats.eventsSent,
            sse: hub.sseStats.json
        )
        report.stream = hub.streamStats.snapshot // stream
        return report
    }

    /// The sockets of `namespace` and its rooms without the sockets' private rooms.
    private static func census(of namespace: Namespace) async -> (sockets: Int, rooms: [String: Int]) {
        // This node's sockets only (a cluster adapter would otherwise ask every node).
        var local = BroadcastOptions()
        local.local = true
        let ids = (try? await namespace.adapter.socketIDs(options: local).get()) ?? []
        let sizes = (try? await namespace.adapter.roomSizes().get()) ?? [:]
        let privateRooms = Set(ids)
        return (ids.count, sizes.filter { !privateRooms.contains($0.key) && $0.value > 0 })
    }

    /// The JSON body.
    var json: JSONValue {
        var namespaces = JSONObject()
        for name in self.namespaces.keys.sorted() {
            let entry = self.namespaces[name]!
            namespaces[name] = ["sockets": .number(Double(entry.sockets)), "rooms": Self.object(entry.rooms)]
        }
        var transports = JSONObject()
        for kind in EngineTransportKind.allCases.sorted(by: { $0.rawValue > $1.rawValue }) {
            transports[kind.rawValue] = .number(Double(self.transports[kind] ?? 0))
        }
        let json: JSONObject = [
            "status": "active",
            "connections": .number(Double(self.connections)),
            "rooms": Self.object(self.namespaces["/"]?.rooms ?? [:]),
            "namespaces": .object(namespaces),
            "transports": .object(transports),
            "uptime_s": .number(Double(self.uptimeSeconds)),
            "events": ["received": .number(Double(self.eventsReceived)), "sent": .number(Double(self.eventsSent))],
            "version": .string(Hub.version),
            "stream": self.stream.json,
            "sse": self.sse,
        ]
        return .object(json)
    }

    /// Room counts as an object, names sorted.
    private static func object(_ rooms: [String: Int]) -> JSONValue {
        var object = JSONObject()
        for name in rooms.keys.sorted() {
            object[name] = .number(Double(rooms[name]!))
        }
        return .object(object)
    }
}

import EngineIO
import SocketIO
import Testing

@testable import Hub

@Suite("Cluster status: node reports and totals")
struct ClusterStatusTests {
    func report(connections: Int, polling: Int, sockets: Int, rooms: [String: Int]) -> StatusReport {
        StatusReport(connections: connections,
                     namespaces: ["/": (sockets, ["chat": rooms["chat"] ?? 0]), "/chat": (sockets, rooms)],
                     transports: [.polling: polling, .websocket: connections - polling],
                     uptimeSeconds: 12, eventsReceived: 0, eventsSent: 0)
    }

    @Test func nodeReportRoundTripsThroughJSON() throws {
        let node = NodeReport(id: "n1", address: "127.0.0.1:3000",
                              report: self.report(connections: 3, polling: 1, sockets: 3, rooms: ["lobby": 2]))
        let text = node.json.jsonString
        #expect(text.contains(#""transports":{"polling":1,"websocket":2}"#))
        let parsed = try #require(NodeReport(json: try JSONValue.parse(text)))
        #expect(parsed == node)
        #expect(parsed.namespaces["/chat"] == NodeReport.NamespaceCount(sockets: 3, rooms: ["lobby": 2]))
    }

    @Test func foreignValuesAreRefused() throws {
        #expect(NodeReport(json: try JSONValue.parse(#"{"id":"x"}"#)) == nil)
        #expect(NodeReport(json: try JSONValue.parse("[1,2]")) == nil)
        var object = NodeReport(id: "n1", address: "a:1", report: self.report(connections: 1, polling: 0, sockets: 1, rooms: [:]))
            .json.objectValue!
        object["connections"] = "three"
        #expect(NodeReport(json: .object(object)) == nil)
    }

    @Test func totalsAddUpAndTheLocalReportWins() throws {
        let a = NodeReport(id: "b-node", address: "h:1", report: self.report(connections: 3, polling: 1, sockets: 3, rooms: ["lobby": 2, "chat": 1]))
        let b = NodeReport(id: "a-node", address: "h:2", report: self.report(connections: 2, polling: 2, sockets: 2, rooms: ["lobby": 1]))
        var stale = b
        stale.connections = 99
        let status = ClusterStatus(nodes: [a, stale], local: b)
        #expect(status.nodes.map(\.id) == ["a-node", "b-node"])
        let json = status.json
        let totals = try #require(json["totals"])
        #expect(totals["nodes"]?.intValue == 2)
        #expect(totals["connections"]?.intValue == 5)
        #expect(totals["transports"] == ["polling": 3, "websocket": 2])
        #expect(totals["namespaces"]?["/chat"] == ["sockets": 5, "rooms": ["chat": 1, "lobby": 3]])
        #expect(totals["rooms"] == ["admin": 0, "chat": 1, "monitoring": 0])
        #expect(json["nodes"]?.arrayValue?.count == 2)
    }
}

import NIOCore
import SocketIO

/// What a node publishes on the `hub:events` Redis channel for each event it routes, so that the
/// /stream subscribers of the other nodes get it too: `{"node": "<uid>", "event": {…HubEvent.json…}}`.
/// Every node receives its own messages as well and drops them (its subscribers were served
/// directly), so each subscriber gets each event once.
struct ClusterEventMessage: Sendable, Hashable {
    /// The publishing node's uid.
    var node: String
    /// The event, with its history offset when it was stored.
    var event: HubEvent

    /// The message for `event` routed by `node`.
    init(node: String, event: HubEvent) {
        self.node = node
        self.event = event
    }

    /// Reads a message; `nil` for anything else (a foreign publisher on the channel).
    init?(_ payload: ByteBuffer) {
        guard let value = try? JSONValue.parse(payload),
              let node = value["node"]?.stringValue,
              let eventValue = value["event"],
              let event = HubEvent(json: eventValue) else {
            return nil
        }
        self.node = node
        self.event = event
    }

    /// The JSON text published.
    var text: String {
        JSONValue.object(["node": .string(self.node), "event": self.event.json]).jsonString
    }
}

import Foundation
import NIOCore
import SocketIO
import Testing

@testable import Hub

@Suite("Events relayed between nodes")
struct ClusterEventMessageTests {
    @Test func roundTripKeepsEveryField() throws {
        var event = HubEvent(type: "task_failed", namespace: "/monitoring", room: "ops",
                             data: ["error": "boom", "n": 3, "nested": ["a": [1, 2]]], source: "api:svc",
                             timestamp: Date(timeIntervalSince1970: 1_700_000_000.125))
        event.offset = 42
        let message = ClusterEventMessage(node: "node-1", event: event)
        let decoded = try #require(ClusterEventMessage(ByteBuffer(string: message.text)))
        #expect(decoded.event.json == event.json, "the same text on every node")
        #expect(decoded.event.offset == 42)
        #expect(abs(decoded.event.timestamp.timeIntervalSince(event.timestamp)) < 0.001)
    }

    @Test func namespaceWideEventHasNoRoomAndNoOffset() throws {
        let event = HubEvent(type: "alert_created", namespace: "/admin", room: nil, data: ["level": "info"], source: "hub")
        let decoded = try #require(HubEvent(json: event.json))
        #expect(decoded.room == nil)
        #expect(decoded.offset == nil)
        #expect(decoded.id == event.id)
    }

    @Test func foreignMessagesAreIgnored() {
        #expect(ClusterEventMessage(ByteBuffer(string: "not json")) == nil)
        #expect(ClusterEventMessage(ByteBuffer(string: #"{"node":"x"}"#)) == nil)
        #expect(ClusterEventMessage(ByteBuffer(string: #"{"node":"x","event":{"id":"1","type":"t"}}"#)) == nil)
        let event = HubEvent(type: "t", namespace: "/", room: "r", data: [:], source: "s")
        var object = event.json.objectValue!
        object["offset"] = -1
        #expect(HubEvent(json: .object(object)) == nil)
        object["offset"] = nil
        object["room"] = 5
        #expect(HubEvent(json: .object(object)) == nil)
    }
}

import Foundation
import SocketIO

/// One event routed by the hub: what a publisher sent (`data`, passed through untouched) and where
/// it went. Socket.IO clients receive it as event `type` with arguments `(data, meta)`.
public struct HubEvent: Sendable, Hashable {
    /// A unique id.
    public var id: String
    /// The catalogue name, such as `alert_created`.
    public var type: String
    /// The namespace it was published in.
    public var namespace: String
    /// The room it went to; `nil` for the whole namespace.
    public var room: String?
    /// Exactly the object the publisher sent.
    public var data: JSONValue
    /// When the hub accepted it.
    public var timestamp: Date
    /// Who published it: `api:<subject>`, `socket:<subject>` or `hub`.
    public var source: String
    /// Its position in the room's history, once stored there.
    public var offset: UInt64?

    /// Creates an event with a fresh id, stamped now.
    public init(type: String, namespace: String, room: String?, data: JSONValue, source: String, timestamp: Date = Date()) {
        self.id = HubEvent.makeID()
        self.type = type
        self.namespace = namespace
        self.room = room
        self.data = data
        self.timestamp = timestamp
        self.source = source
    }

    /// The second Socket.IO argument: `{"id","room","namespace","timestamp","source"}` (and `offset`
    /// when stored in history).
    public var meta: JSONValue {
        var object = JSONObject()
        object["id"] = .string(self.id)
        object["room"] = self.room.map(JSONValue.string) ?? .null
        object["namespace"] = .string(self.namespace)
        object["timestamp"] = .string(Self.format(self.timestamp))
        object["source"] = .string(self.source)
        if let offset = self.offset {
            object["offset"] = .number(Double(offset))
        }
        return .object(object)
    }

    /// The plain-JSON form used by the HTTP API and /stream:
    /// `{"id","type","room","namespace","data","timestamp","source","offset"}`.
    public var json: JSONValue {
        var object = JSONObject()
        object["id"] = .string(self.id)
        object["type"] = .string(self.type)
        object["room"] = self.room.map(JSONValue.string) ?? .null
        object["namespace"] = .string(self.namespace)
        object["data"] = self.data
        object["timestamp"] = .string(Self.format(self.timestamp))
        object["source"] = .string(self.source)
        if let offset = self.offset {
            object["offset"] = .number(Double(offset))
        }
        return .object(object)
    }

    static func makeID() -> String {
        UUID().uuidString.lowercased()
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

import Foundation
import SocketIO

extension HubEvent {
    /// Reads the plain-JSON form (``json``) back, as another node or the Redis history sent it:
    /// `nil` unless `id`, `type`, `namespace`, `data`, `timestamp` (ISO 8601 with fractional
    /// seconds) and `source` are there with the right types. `room` may be `null` or absent;
    /// `offset`, when present, must be a non-negative integer.
    public init?(json value: JSONValue) {
        guard let object = value.objectValue,
              let id = object["id"]?.stringValue,
              let type = object["type"]?.stringValue,
              let namespace = object["namespace"]?.stringValue,
              let data = object["data"],
              let stamp = object["timestamp"]?.stringValue,
              let timestamp = try? Date(stamp, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
              let source = object["source"]?.stringValue else {
            return nil
        }
        let room: String?
        switch object["room"] {
        case .none, .some(.null): room = nil
        case .some(let value):
            guard let name = value.stringValue else { return nil }
            room = name
        }
        // The text has whole milliseconds and formatting truncates: the middle of the millisecond
        // formats back to the same text (the parsed value may lie a hair below it).
        self.init(type: type, namespace: namespace, room: room, data: data, source: source,
                  timestamp: timestamp.addingTimeInterval(0.0005))
        self.id = id
        if let offset = object["offset"] {
            guard let number = offset.intValue, number >= 0 else { return nil }
            self.offset = UInt64(number)
        }
    }
}

import NIOConcurrencyHelpers
import SocketIO

/// The open `/sse` streams of this node, by namespace and room: for the status report (`"sse"`)
/// and the `hub_sse_connections` gauge, and for the bound on open streams. Safe from any thread.
public final class SSEStats: Sendable {
    /// Open streams per namespace, per room (rooms keyed by their exact UTF-8 bytes).
    private let counts = NIOLockedValueBox<[String: [[UInt8]: Int]]>([:])

    /// Creates empty counts.
    public init() {}

    /// Open streams on this node.
    public var connections: Int {
        self.counts.withLockedValue { Self.total($0) }
    }

    /// Open streams per namespace and room (only rooms with a stream).
    public var rooms: [String: [String: Int]] {
        self.counts.withLockedValue { namespaces in
            namespaces.mapValues { rooms in
                Dictionary(rooms.map { (String(decoding: $0.key, as: UTF8.self), $0.value) }, uniquingKeysWith: +)
            }
        }
    }

    /// Counts a new stream unless `limit` streams are open already (`limit` 0: no limit).
    /// Returns whether it was counted; a counted stream must be ended with ``close(namespace:room:)``.
    func open(namespace: String, room: String, limit: Int) -> Bool {
        self.counts.withLockedValue { namespaces in
            if limit > 0, Self.total(namespaces) >= limit {
                return false
            }
            namespaces[namespace, default: [:]][Array(room.utf8), default: 0] += 1
            return true
        }
    }

    /// A stream counted by ``open(namespace:room:limit:)`` ended.
    func close(namespace: String, room: String) {
        self.counts.withLockedValue { namespaces in
            let key = Array(room.utf8)
            guard let count = namespaces[namespace]?[key] else { return }
            if count > 1 {
                namespaces[namespace]![key] = count - 1
            } else {
                namespaces[namespace]!.removeValue(forKey: key)
                if namespaces[namespace]!.isEmpty {
                    namespaces.removeValue(forKey: namespace)
                }
            }
        }
    }

    private static func total(_ namespaces: [String: [[UInt8]: Int]]) -> Int {
        var total = 0
        for rooms in namespaces.values {
            for count in rooms.values {
                total += count
            }
        }
        return total
    }

    /// The status report's `"sse"`: `{"connections": N, "rooms": {"<namespace>": {"<room>": n}}}`,
    /// every namespace of the hub listed (`{}` when it has no stream), names sorted.
    var json: JSONValue {
        let rooms: [String: [String: Int]] = self.rooms
        var total = 0
        var namespaces = JSONObject()
        for namespace in ChannelPolicy.namespaces.sorted() {
            var object = JSONObject()
            let counts = rooms[namespace] ?? [:]
            for room in counts.keys.sorted() {
                object[room] = .number(Double(counts[room]!))
                total += counts[room]!
            }
            namespaces[namespace] = .object(object)
        }
        return ["connections": .number(Double(total)), "rooms": .object(namespaces)]
    }
}

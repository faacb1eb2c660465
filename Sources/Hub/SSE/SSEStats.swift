import NIOConcurrencyHelpers
import SocketIO

/// The open `/sse` streams of this node, by namespace and room: for the status report (`"sse"`)
/// and the `hub_sse_connections` gauge, and for the bound on open streams. Safe from any thread.
public final class SSEStats: Sendable {
    private struct Counts {
        /// Open streams in all.
        var total = 0
        /// Open streams per namespace, per room (rooms keyed by their exact UTF-8 bytes).
        var rooms: [String: [[UInt8]: Int]] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())

    /// Creates empty counts.
    public init() {}

    /// Open streams on this node.
    public var connections: Int {
        self.counts.withLockedValue { $0.total }
    }

    /// Open streams per namespace and room (only rooms with a stream).
    public var rooms: [String: [String: Int]] {
        self.counts.withLockedValue { counts in
            counts.rooms.mapValues { rooms in
                Dictionary(rooms.map { (String(decoding: $0.key, as: UTF8.self), $0.value) }, uniquingKeysWith: +)
            }
        }
    }

    /// Counts a new stream unless `limit` streams are open already (`limit` 0: no limit).
    /// Returns whether it was counted; a counted stream must be ended with ``close(namespace:room:)``.
    func open(namespace: String, room: String, limit: Int) -> Bool {
        self.counts.withLockedValue { counts in
            if limit > 0, counts.total >= limit {
                return false
            }
            counts.total += 1
            counts.rooms[namespace, default: [:]][Array(room.utf8), default: 0] += 1
            return true
        }
    }

    /// A stream counted by ``open(namespace:room:limit:)`` ended.
    func close(namespace: String, room: String) {
        self.counts.withLockedValue { counts in
            let key = Array(room.utf8)
            guard let count = counts.rooms[namespace]?[key] else { return }
            counts.total -= 1
            if count > 1 {
                counts.rooms[namespace]![key] = count - 1
            } else {
                counts.rooms[namespace]!.removeValue(forKey: key)
                if counts.rooms[namespace]!.isEmpty {
                    counts.rooms.removeValue(forKey: namespace)
                }
            }
        }
    }

    /// The status report's `"sse"`: `{"connections": N, "rooms": {"<namespace>": {"<room>": n}}}`,
    /// every namespace of the hub listed (`{}` when it has no stream), names sorted.
    var json: JSONValue {
        let (total, rooms) = self.counts.withLockedValue { ($0.total, $0.rooms) }
        var namespaces = JSONObject()
        for namespace in ChannelPolicy.namespaces.sorted() {
            var counts: [String: Int] = [:]
            for (room, count) in rooms[namespace] ?? [:] {
                counts[String(decoding: room, as: UTF8.self), default: 0] += count
            }
            var object = JSONObject()
            for room in counts.keys.sorted() {
                object[room] = .number(Double(counts[room]!))
            }
            namespaces[namespace] = .object(object)
        }
        return ["connections": .number(Double(total)), "rooms": .object(namespaces)]
    }
}

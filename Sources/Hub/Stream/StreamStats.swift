import NIOConcurrencyHelpers
import SocketIO

/// The `/stream` gateway's live counts on this node: open connections and subscriptions, by
/// namespace and room. ``StreamHandler`` keeps them up to date; the status report
/// (`GET /api/websocket/status`, key `stream`) and `/metrics` (`hub_stream_connections`,
/// `hub_stream_subscriptions`) read them. Thread-safe.
///
/// Rooms are counted by their exact UTF-8 bytes (two spellings of a name are two rooms).
public final class StreamStats: Sendable {
    /// A consistent copy of the counts.
    public struct Snapshot: Sendable, Equatable {
        /// Open `/stream` WebSocket connections (authenticated or not yet).
        public var connections: Int
        /// Subscriptions, all kinds together.
        public var subscriptions: Int
        /// One-room subscriptions by namespace, then room.
        public var rooms: [String: [String: Int]]
        /// Every-readable-room subscriptions (`subscribe` without `room`) by namespace.
        public var allRooms: [String: Int]

        /// The `stream` member of the status report:
        /// `{"connections":N,"subscriptions":M,"rooms":{"/ns":{"room":K}},"all_rooms":{"/ns":K}}`,
        /// names sorted by their UTF-8 bytes, empty entries left out.
        public var json: JSONValue {
            var rooms = JSONObject()
            for namespace in self.rooms.keys.sorted(by: Self.byteOrder) {
                var counts = JSONObject()
                let entries = self.rooms[namespace]!
                for room in entries.keys.sorted(by: Self.byteOrder) {
                    // JSONObject keys compare as Strings: canonically equivalent names share a key.
                    let previous = counts[room]?.doubleValue ?? 0
                    counts[room] = .number(previous + Double(entries[room]!))
                }
                rooms[namespace] = .object(counts)
            }
            var allRooms = JSONObject()
            for namespace in self.allRooms.keys.sorted(by: Self.byteOrder) {
                allRooms[namespace] = .number(Double(self.allRooms[namespace]!))
            }
            return [
                "connections": .number(Double(self.connections)),
                "subscriptions": .number(Double(self.subscriptions)),
                "rooms": .object(rooms),
                "all_rooms": .object(allRooms),
            ]
        }

        private static func byteOrder(_ a: String, _ b: String) -> Bool {
            a.utf8.lexicographicallyPrecedes(b.utf8)
        }
    }

    private struct RoomKey: Hashable {
        var namespace: [UInt8]
        var room: [UInt8]?
    }

    private struct State {
        var connections = 0
        /// Count and the names as first seen, by bytes.
        var subscriptions: [RoomKey: (namespace: String, room: String?, count: Int)] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Creates zeroed counts.
    public init() {}

    /// A copy of the counts.
    public var snapshot: Snapshot {
        self.state.withLockedValue { state in
            var snapshot = Snapshot(connections: state.connections, subscriptions: 0, rooms: [:], allRooms: [:])
            for entry in state.subscriptions.values {
                snapshot.subscriptions += entry.count
                if let room = entry.room {
                    snapshot.rooms[entry.namespace, default: [:]][room, default: 0] += entry.count
                } else {
                    snapshot.allRooms[entry.namespace, default: 0] += entry.count
                }
            }
            return snapshot
        }
    }

    /// Open connections.
    public var connections: Int { self.state.withLockedValue { $0.connections } }

    /// Open subscriptions.
    public var subscriptions: Int { self.state.withLockedValue { $0.subscriptions.values.reduce(0) { $0 + $1.count } } }

    func connectionOpened() {
        self.state.withLockedValue { $0.connections += 1 }
    }

    func connectionClosed() {
        self.state.withLockedValue { $0.connections = max(0, $0.connections - 1) }
    }

    /// A subscription of `filter`'s namespace and room (`nil`: every readable room) started.
    func subscriptionAdded(_ filter: EventFilter) {
        let key = RoomKey(namespace: filter.namespaceKey, room: filter.room.map { Array($0.utf8) })
        self.state.withLockedValue { state in
            state.subscriptions[key, default: (filter.namespace, filter.room, 0)].count += 1
        }
    }

    /// A subscription added with ``subscriptionAdded(_:)`` ended.
    func subscriptionRemoved(_ filter: EventFilter) {
        let key = RoomKey(namespace: filter.namespaceKey, room: filter.room.map { Array($0.utf8) })
        self.state.withLockedValue { state in
            guard let entry = state.subscriptions[key] else { return }
            if entry.count <= 1 {
                state.subscriptions[key] = nil
            } else {
                state.subscriptions[key]!.count -= 1
            }
        }
    }
}

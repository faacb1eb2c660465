import NIOConcurrencyHelpers

/// Every room's ``RoomHistory``, keyed by namespace and room. Thread-safe.
public final class EventHistory: Sendable {
    private struct Key: Hashable {
        var namespace: String
        var room: String
    }

    /// Events kept per room.
    public let capacityPerRoom: Int
    private let rooms = NIOLockedValueBox<[Key: RoomHistory]>([:])

    /// Creates an empty history keeping `capacityPerRoom` events in each room.
    public init(capacityPerRoom: Int) {
        self.capacityPerRoom = capacityPerRoom
    }

    /// Stores `event` in its room's history and returns it with its offset.
    public func append(_ event: HubEvent) -> HubEvent {
        let key = Key(namespace: event.namespace, room: event.room ?? "")
        return self.rooms.withLockedValue { rooms in
            rooms[key, default: RoomHistory(capacity: self.capacityPerRoom)].append(event)
        }
    }

    /// The kept events of a room with an offset greater than `since` (all kept events for 0).
    public func events(namespace: String, room: String, since: UInt64 = 0, limit: Int = .max) -> [HubEvent] {
        self.rooms.withLockedValue { $0[Key(namespace: namespace, room: room)]?.events(after: since, limit: limit) ?? [] }
    }

    /// The newest offset of a room (0 if nothing was published there).
    public func latestOffset(namespace: String, room: String) -> UInt64 {
        self.rooms.withLockedValue { $0[Key(namespace: namespace, room: room)]?.latestOffset ?? 0 }
    }
}

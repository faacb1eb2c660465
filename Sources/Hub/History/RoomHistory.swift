/// The last `capacity` events of one room, with offsets that only grow: the first event stored gets
/// offset 1 (or the one after `after`), and an offset is never reused even after its event falls out
/// of the buffer.
public struct RoomHistory: Sendable {
    /// How many events are kept.
    public let capacity: Int
    private var storage: [HubEvent] = []
    private var head = 0
    /// The offset of the newest event (0 before any).
    public private(set) var latestOffset: UInt64 = 0

    /// An empty history keeping `capacity` events, whose first event gets offset `after + 1`.
    /// Storage grows with the events kept (nothing is reserved: most rooms keep few).
    public init(capacity: Int, after: UInt64 = 0) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        self.latestOffset = after
    }

    /// The number of events kept.
    public var count: Int { self.storage.count }

    /// The oldest offset still kept, or `nil` when empty.
    public var oldestOffset: UInt64? {
        self.storage.isEmpty ? nil : self.latestOffset - UInt64(self.storage.count) + 1
    }

    /// Stores `event`, giving it the next offset, and returns it with that offset.
    @discardableResult
    public mutating func append(_ event: HubEvent) -> HubEvent {
        self.appendReturningDropped(event).stored
    }

    /// Stores `event`, giving it the next offset; returns it with that offset, and the oldest event
    /// if it fell out to make room.
    mutating func appendReturningDropped(_ event: HubEvent) -> (stored: HubEvent, dropped: HubEvent?) {
        var stored = event
        self.latestOffset += 1
        stored.offset = self.latestOffset
        if self.storage.count < self.capacity {
            self.storage.append(stored)
            return (stored, nil)
        }
        let dropped = self.storage[self.head]
        self.storage[self.head] = stored
        self.head = (self.head + 1) % self.capacity
        return (stored, dropped)
    }

    /// The kept events with an offset greater than `offset`, oldest first, at most `limit`.
    public func events(after offset: UInt64, limit: Int = .max) -> [HubEvent] {
        guard offset < self.latestOffset, limit > 0, !self.storage.isEmpty else { return [] }
        let available = Int(min(UInt64(self.storage.count), self.latestOffset - offset))
        let take = min(available, limit)
        let firstIndex = self.storage.count - available
        var result: [HubEvent] = []
        result.reserveCapacity(take)
        for index in firstIndex..<(firstIndex + take) {
            result.append(self.storage[(self.head + index) % self.storage.count])
        }
        return result
    }
}

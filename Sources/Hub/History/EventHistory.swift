import NIOConcurrencyHelpers
import NIOCore
import SocketIO

/// Every room's ``RoomHistory``, keyed by namespace and room (exact names), with bounds on what all
/// rooms together may hold. Thread-safe.
///
/// Bounds (``Configuration``): at most ``Configuration/maxRooms`` rooms keep a history, and all kept
/// events together at most ``Configuration/maxBytes`` (an estimate of their size); past either, the
/// least recently used histories (by their last append) are dropped. A history idle for
/// ``Configuration/ttl`` is dropped by ``sweep(now:)``. A dropped room starts again, when next
/// published to, above every offset it had: offsets of a room never go back, so a client that
/// passes an old offset as `since` never skips a new event.
public final class EventHistory: Sendable {
    /// The bounds.
    public struct Configuration: Sendable, Hashable {
        /// Events kept per room (`historySize`). Default 1000.
        public var capacityPerRoom: Int = 1000
        /// Rooms keeping a history at once (`historyMaxRooms`). Default 10 000.
        public var maxRooms: Int = 10_000
        /// Estimated bytes of all kept events together (`historyMaxBytes`). Default 256 MiB.
        public var maxBytes: Int = 256 << 20
        /// A room's history is dropped after this long without an append (`historyTTL`, Centrifugo's
        /// `history_ttl`); `nil` keeps idle histories until a bound evicts them. Default 24 h.
        public var ttl: TimeAmount? = .hours(24)

        /// The defaults, with `capacityPerRoom`.
        public init(capacityPerRoom: Int = 1000) {
            self.capacityPerRoom = capacityPerRoom
        }
    }

    /// Why histories were dropped (the `reason` label of `hub_history_evictions_total`).
    public enum EvictionReason: String, Sendable, CaseIterable {
        /// More than ``Configuration/maxRooms`` rooms.
        case rooms
        /// More than ``Configuration/maxBytes`` bytes.
        case bytes
        /// Idle for ``Configuration/ttl``.
        case ttl
    }

    private struct Key: Hashable {
        var namespace: ExactName
        var room: ExactName
    }

    private struct Entry {
        var history: RoomHistory
        var bytes: Int
        var lastAppend: NIODeadline
    }

    private struct State {
        var rooms: [Key: Entry] = [:]
        var bytes = 0
        /// The highest offset any dropped history had: a room created again starts above it.
        var evictedThrough: UInt64 = 0
        var evictions: [EvictionReason: Int] = [:]
    }

    /// The bounds in force.
    public let configuration: Configuration
    /// Events kept per room.
    public var capacityPerRoom: Int { self.configuration.capacityPerRoom }
    private let state = NIOLockedValueBox(State())

    /// Creates an empty history with these bounds.
    public init(configuration: Configuration) {
        precondition(configuration.capacityPerRoom > 0 && configuration.maxRooms > 0 && configuration.maxBytes > 0)
        self.configuration = configuration
    }

    /// Creates an empty history keeping `capacityPerRoom` events in each room, other bounds default.
    public convenience init(capacityPerRoom: Int) {
        self.init(configuration: Configuration(capacityPerRoom: capacityPerRoom))
    }

    /// Stores `event` in its room's history and returns it with its offset. With `onlyIfKept`, the
    /// event is stored only if the room already has a history (presence events do not create one).
    public func append(_ event: HubEvent, now: NIODeadline = .now()) -> HubEvent {
        self.append(event, onlyIfKept: false, now: now) ?? event
    }

    /// ``append(_:now:)``, but only into a room that already keeps a history: `nil` (nothing
    /// stored) otherwise.
    public func appendIfKept(_ event: HubEvent, now: NIODeadline = .now()) -> HubEvent? {
        self.append(event, onlyIfKept: true, now: now)
    }

    private func append(_ event: HubEvent, onlyIfKept: Bool, now: NIODeadline) -> HubEvent? {
        let key = Key(namespace: ExactName(event.namespace), room: ExactName(event.room ?? ""))
        let size = Self.estimatedSize(of: event)
        return self.state.withLockedValue { state in
            var entry: Entry
            if let existing = state.rooms.removeValue(forKey: key) {
                entry = existing
            } else {
                if onlyIfKept { return nil }
                entry = Entry(history: RoomHistory(capacity: self.configuration.capacityPerRoom, after: state.evictedThrough),
                              bytes: 0, lastAppend: now)
            }
            let (stored, dropped) = entry.history.appendReturningDropped(event)
            let delta = size - (dropped.map(Self.estimatedSize(of:)) ?? 0)
            entry.bytes += delta
            entry.lastAppend = now
            state.bytes += delta
            state.rooms[key] = entry
            if state.rooms.count > self.configuration.maxRooms {
                Self.evictLeastRecentlyUsed(&state, reason: .rooms, keep: key) { state in
                    state.rooms.count > self.configuration.maxRooms * 9 / 10
                }
            }
            if state.bytes > self.configuration.maxBytes {
                Self.evictLeastRecentlyUsed(&state, reason: .bytes, keep: key) { state in
                    state.bytes > self.configuration.maxBytes * 9 / 10
                }
            }
            return stored
        }
    }

    /// The kept events of a room with an offset greater than `since` (all kept events for 0).
    public func events(namespace: String, room: String, since: UInt64 = 0, limit: Int = .max) -> [HubEvent] {
        let key = Key(namespace: ExactName(namespace), room: ExactName(room))
        return self.state.withLockedValue { $0.rooms[key]?.history.events(after: since, limit: limit) ?? [] }
    }

    /// The newest offset of a room (0 if nothing is kept there).
    public func latestOffset(namespace: String, room: String) -> UInt64 {
        let key = Key(namespace: ExactName(namespace), room: ExactName(room))
        return self.state.withLockedValue { $0.rooms[key]?.history.latestOffset ?? 0 }
    }

    /// Drops the histories idle for longer than ``Configuration/ttl``; returns how many.
    @discardableResult
    public func sweep(now: NIODeadline = .now()) -> Int {
        guard let ttl = self.configuration.ttl else { return 0 }
        let cutoff = now - ttl
        return self.state.withLockedValue { state in
            let idle = state.rooms.filter { $0.value.lastAppend < cutoff }.map(\.key)
            for key in idle {
                Self.drop(key, from: &state, reason: .ttl)
            }
            return idle.count
        }
    }

    /// Rooms keeping a history, and the estimated bytes of their events.
    public var usage: (rooms: Int, bytes: Int) {
        self.state.withLockedValue { ($0.rooms.count, $0.bytes) }
    }

    /// Histories dropped since start, by reason.
    public var evictions: [EvictionReason: Int] {
        self.state.withLockedValue { $0.evictions }
    }

    // MARK: - Eviction

    /// Drops the least recently appended histories (never `keep`, the one just appended to) while
    /// `over` holds: in one sorted pass, down to 90 % of the bound, so a stream of new rooms costs
    /// one sort per tenth of the bound rather than one scan per room.
    private static func evictLeastRecentlyUsed(_ state: inout State, reason: EvictionReason, keep: Key,
                                               while over: (State) -> Bool) {
        let oldestFirst = state.rooms.lazy.filter { $0.key != keep }.map { ($0.key, $0.value.lastAppend) }.sorted { $0.1 < $1.1 }
        for (key, _) in oldestFirst {
            guard over(state) else { break }
            Self.drop(key, from: &state, reason: reason)
        }
    }

    private static func drop(_ key: Key, from state: inout State, reason: EvictionReason) {
        guard let entry = state.rooms.removeValue(forKey: key) else { return }
        state.bytes -= entry.bytes
        state.evictedThrough = max(state.evictedThrough, entry.history.latestOffset)
        state.evictions[reason, default: 0] += 1
    }

    // MARK: - Size

    /// An estimate of the memory an event takes while kept: a fixed part for the event's fields and
    /// the UTF-8 bytes of its strings, 16 bytes per other JSON value.
    static func estimatedSize(of event: HubEvent) -> Int {
        256 + event.type.utf8.count + event.namespace.utf8.count + (event.room?.utf8.count ?? 0) + event.source.utf8.count
            + Self.estimatedSize(of: event.data)
    }

    private static func estimatedSize(of value: JSONValue) -> Int {
        switch value {
        case .null, .bool, .number: return 16
        case .string(let string): return 16 + string.utf8.count
        case .binary(let buffer): return 16 + buffer.readableBytes
        case .array(let elements): return elements.reduce(16) { $0 + Self.estimatedSize(of: $1) }
        case .object(let object): return object.reduce(16) { $0 + 16 + $1.key.utf8.count + Self.estimatedSize(of: $1.value) }
        }
    }
}

import NIOCore

/// The hand-over from a room's history to its live events for one subscriber, without a gap or a
/// duplicate: the rule `/stream` and `/sse` share.
///
/// The subscriber is registered with the ``EventBroadcaster`` *before* the room's history is read
/// (``read(from:namespace:room:since:on:)``): first its latest offset, then the events after
/// `since`. Replayed are the events with an offset in `since+1...latestOffset`; live events are
/// delivered only with an offset above `latestOffset` (the cutoff), or with none (ephemeral events
/// are never stored). An event is appended to history before it is handed to subscribers, so every
/// event with a greater offset reaches the registered subscriber, and every event at or below it
/// is in the history that was read. Live events that arrive while the history is being read are
/// held and delivered after the replay.
///
/// Filtering (event types, exact names) is the caller's: it hands in only the events it wants.
struct HistoryHandover: Equatable {
    /// Where the hand-over is.
    enum Stage: Equatable {
        /// Registered; waiting for the history read. Live events wait in `buffer`.
        case starting(since: UInt64?, buffer: [HubEvent])
        /// Replayed; live events with an offset above `cutoff` (or none) are delivered.
        case live(cutoff: UInt64)
    }

    /// Where the hand-over is.
    private(set) var stage: Stage

    /// A subscriber just registered; `since` is the offset to replay after (`nil`: no replay).
    init(since: UInt64?) {
        self.stage = .starting(since: since, buffer: [])
    }

    /// Whether the history was read and live events flow.
    var isLive: Bool {
        if case .live = self.stage { return true }
        return false
    }

    /// A live event the subscriber wants: returned if it is to be delivered now; `nil` if it is held
    /// until the history is read, or was in the history already (at or below the cutoff).
    mutating func receive(_ event: HubEvent) -> HubEvent? {
        switch self.stage {
        case .starting(let since, var buffer):
            buffer.append(event)
            self.stage = .starting(since: since, buffer: buffer)
            return nil
        case .live(let cutoff):
            return Self.isLive(event, cutoff: cutoff) ? event : nil
        }
    }

    /// The history was read: the room's latest offset (read after the subscriber was registered)
    /// and the events after `since` (read after that; those the subscriber wants). Returns what to
    /// replay, oldest first, then the held live events to deliver after it; `nil` if the hand-over
    /// already happened.
    mutating func start(latestOffset: UInt64, history: [HubEvent]) -> (replay: [HubEvent], live: [HubEvent])? {
        guard case .starting(let since, let buffer) = self.stage else { return nil }
        self.stage = .live(cutoff: latestOffset)
        let replay = since.map { since in
            history.filter { Self.isReplayed($0, since: since, latestOffset: latestOffset) }
        } ?? []
        return (replay, buffer.filter { Self.isLive($0, cutoff: latestOffset) })
    }

    /// Whether a stored event belongs to a replay after `since` that ends at `latestOffset`.
    static func isReplayed(_ event: HubEvent, since: UInt64, latestOffset: UInt64) -> Bool {
        guard let offset = event.offset else { return false }
        return offset > since && offset <= latestOffset
    }

    /// Whether a live event is past the replay that ended at `cutoff` (ephemeral events always are).
    static func isLive(_ event: HubEvent, cutoff: UInt64) -> Bool {
        event.offset.map { $0 > cutoff } ?? true
    }
}

extension HistoryHandover {
    /// Reads what ``start(latestOffset:history:)`` needs — the room's latest offset, then (with
    /// `since`) its events after `since` — from the node's memory, or from Redis when the hub has
    /// it (one pipelined round trip). Call it after the subscriber is registered. The future
    /// completes on `eventLoop` (at once for the in-memory history). If Redis cannot answer, it
    /// succeeds with offset 0 and no events: the subscription starts without a replay.
    static func read(from hub: Hub, namespace: String, room: String, since: UInt64?,
                     on eventLoop: EventLoop) -> EventLoopFuture<(latestOffset: UInt64, events: [HubEvent])> {
        guard let cluster = hub.cluster else {
            let history = hub.history
            let latestOffset = history.latestOffset(namespace: namespace, room: room)
            let events = since.map { history.events(namespace: namespace, room: room, since: $0) } ?? []
            return eventLoop.makeSucceededFuture((latestOffset, events))
        }
        let history = cluster.history
        let latest = history.latestOffset(namespace: namespace, room: room)
        let events = since.map { history.events(namespace: namespace, room: room, since: $0) }
            ?? eventLoop.makeSucceededFuture([])
        return latest.and(events).hop(to: eventLoop)
            .map { (latestOffset: $0.0, events: $0.1) }
            .recover { _ in (latestOffset: 0, events: []) }
    }
}

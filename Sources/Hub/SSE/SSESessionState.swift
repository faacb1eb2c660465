import Foundation
/// The protocol logic of one `/sse` stream, without I/O: the one subscription and its replay/live
/// hand-over (``HistoryHandover``, the rule `/stream` uses), the event-type filter, the heartbeat
/// and the slow-consumer bound. ``SSEConnection`` feeds it what happens and carries out the
/// ``Action``s it returns, in order.
///
/// The request was checked before the stream started (``SSERequest``): the state begins
/// authenticated and subscribed-to-be.
struct SSESessionState {
    /// Where the stream is.
    enum Phase: Equatable {
        /// Created; ``start()`` not called yet.
        case idle
        /// Subscribed; the room's history is being read (live events are held).
        case starting
        /// Replayed; live events flow.
        case live
        /// Ended: every input is ignored.
        case closed
    }

    /// Why the server ends a stream.
    enum CloseReason: String, Equatable, Sendable {
        /// More than `maxBufferedBytes` written while the client was not reading.
        case slowConsumer = "slow consumer"
        /// The token expired.
        case tokenExpired = "token expired"
    }

    /// What ``SSEConnection`` must do, in order.
    enum Action: Equatable {
        /// Write this message, then report it with ``wrote(bytes:channelWritable:)``.
        case send(SSEMessage)
        /// Write this replayed message without counting it toward the slow-consumer bound: a
        /// replay is bounded by the room's history size and written in one go, faster than any
        /// client reads it.
        case replay(SSEMessage)
        /// Register the subscriber with the broadcaster, then read the room's history
        /// (``HistoryHandover/read(from:namespace:room:since:on:)``) and report it with
        /// ``subscriptionStarted(latestOffset:history:)``.
        case startSubscription(filter: EventFilter, since: UInt64?)
        /// Unregister the subscriber.
        case endSubscription
        /// Start the heartbeat timer; each time it fires, call ``heartbeat()``.
        case startHeartbeat
        /// Stop the heartbeat timer.
        case cancelHeartbeat
        /// End the stream and close the connection.
        case close(CloseReason)
    }

    /// Where the stream is.
    private(set) var phase = Phase.idle
    /// The namespace (one of the hub's, as ``ChannelPolicy`` spells it).
    let namespace: String
    /// The room.
    let room: String
    /// The event types wanted, as UTF-8 bytes (compared exactly, not as Swift strings); `nil` for all.
    private let types: [[UInt8]]?
    private let lastEventID: UInt64?
    private let maxBufferedBytes: Int
    private let reconnectDelay: Int?
    private var handover: HistoryHandover
    /// Bytes written while the channel was not writable, since it last was.
    private var overflowBytes = 0

    /// - Parameters:
    ///   - types: The event types wanted (`nil`: all); duplicates are harmless.
    ///   - lastEventID: Replay the room's kept events after this offset before the live ones.
    ///   - maxBufferedBytes: Bytes that may be written while the channel is not writable before the
    ///     client counts as slow.
    ///   - reconnectDelay: Sent as `retry:` first, if set (milliseconds).
    init(namespace: String, room: String, types: [String]?, lastEventID: UInt64?, maxBufferedBytes: Int,
         reconnectDelay: Int? = nil) {
        self.namespace = namespace
        self.room = room
        self.types = types.map { $0.map { Array($0.utf8) } }
        self.lastEventID = lastEventID
        self.maxBufferedBytes = maxBufferedBytes
        self.reconnectDelay = reconnectDelay
        self.handover = HistoryHandover(since: lastEventID)
    }

    /// Whether the subscription wants `event`: this namespace and room, and one of the types,
    /// all compared as exact UTF-8 bytes.
    func wants(_ event: HubEvent) -> Bool {
        guard event.namespace.utf8.elementsEqual(self.namespace.utf8),
              let room = event.room, room.utf8.elementsEqual(self.room.utf8) else {
            return false
        }
        guard let types = self.types else { return true }
        return types.contains { $0.elementsEqual(event.type.utf8) }
    }

    // MARK: - Inputs

    /// The response head is out: the `retry:` line, the subscription and the heartbeat start.
    mutating func start() -> [Action] {
        guard case .idle = self.phase else { return [] }
        self.phase = .starting
        var actions: [Action] = []
        if let reconnectDelay {
            actions.append(.send(.retry(milliseconds: reconnectDelay)))
        }
        // The broadcaster pre-filters by type (its own comparison); ``wants(_:)`` decides exactly.
        let filter = EventFilter(namespace: self.namespace, room: self.room,
                                 types: self.types.map { Set($0.map { String(decoding: $0, as: UTF8.self) }) })
        actions.append(.startSubscription(filter: filter, since: self.lastEventID))
        actions.append(.startHeartbeat)
        return actions
    }

    /// The outcome of ``Action/startSubscription(filter:since:)``: the room's latest offset, read
    /// after the subscriber was registered, and (with a Last-Event-ID) the events after it, read
    /// after that. Answers the replay, then the live events held meanwhile.
    mutating func subscriptionStarted(latestOffset: UInt64, history: [HubEvent]) -> [Action] {
        guard case .starting = self.phase,
              let (replay, live) = self.handover.start(latestOffset: latestOffset, history: history.filter(self.wants)) else {
            return []
        }
        self.phase = .live
        return replay.map { .replay(.event($0)) } + live.map { .send(.event($0)) }
    }

    /// A live event from the subscriber (on the connection's loop).
    mutating func receive(event: HubEvent) -> [Action] {
        switch self.phase {
        case .starting, .live:
            guard self.wants(event), let event = self.handover.receive(event) else { return [] }
            return [.send(.event(event))]
        case .idle, .closed:
            return []
        }
    }

    /// The heartbeat timer fired.
    mutating func heartbeat() -> [Action] {
        switch self.phase {
        case .starting, .live: [.send(.heartbeat)]
        case .idle, .closed: []
        }
    }

    /// A message of `bytes` was written; `channelWritable` is whether the channel still took it
    /// without passing its high-water mark. More than `maxBufferedBytes` written while not
    /// writable ends the stream as a slow consumer.
    mutating func wrote(bytes: Int, channelWritable: Bool) -> [Action] {
        guard self.phase != .closed else { return [] }
        if channelWritable {
            self.overflowBytes = 0
            return []
        }
        self.overflowBytes += bytes
        guard self.overflowBytes > self.maxBufferedBytes else { return [] }
        return self.connectionClosed() + [.close(.slowConsumer)]
    }

    /// The connection is gone (or going): the subscription and the heartbeat end; later inputs are
    /// ignored.
    /// The stream's token expired: `event: token_expired`, then the stream ends (the page opens a
    /// new `EventSource` with a fresh token; the old URL's token is refused from now on).
    mutating func tokenExpired(at expiresAt: Date) -> [Action] {
        switch self.phase {
        case .starting, .live: return [.send(.tokenExpired(expiresAt: HubEvent.format(expiresAt))), .close(.tokenExpired)]
        case .idle, .closed: return []
        }
    }

    mutating func connectionClosed() -> [Action] {
        let phase = self.phase
        self.phase = .closed
        switch phase {
        case .starting, .live: return [.cancelHeartbeat, .endSubscription]
        case .idle, .closed: return []
        }
    }
}

import EngineIO

/// The query of `GET /api/history`: `namespace` (default `/`), `room` (required), `since` (an
/// offset, default 0: everything kept), `limit` (default and maximum: the history size) and `type`
/// (repeatable: only events of these types; `limit` counts matching events).
struct HistoryQuery: Sendable, Hashable {
    /// The namespace.
    var namespace: String
    /// The room.
    var room: String
    /// Events with an offset greater than this are returned.
    var since: UInt64
    /// At most this many events, oldest first.
    var limit: Int
    /// Only events of these types; `nil` for every type.
    var types: Set<ExactName>?
    /// How many events to read from the history: `limit`, or everything kept after `since` when a
    /// type filter applies (the filter runs on what was read).
    private let maxLimit: Int
    var readLimit: Int { self.types == nil ? self.limit : self.maxLimit }

    /// Reads and validates the query; `maxLimit` caps `limit` (the per-room history size).
    init(_ query: QueryParameters, maxLimit: Int) throws(APIError) {
        let namespace = query["namespace"] ?? ""
        self.namespace = namespace.isEmpty ? "/" : namespace
        // Compared by bytes: `hasPrefix` compares characters, and "/" followed by a combining
        // mark is one character that is not "/".
        guard self.namespace.utf8.first == UInt8(ascii: "/") else {
            throw .badRequest("namespace must start with \"/\"")
        }
        guard let room = query["room"], !room.isEmpty else {
            throw .badRequest("room is required")
        }
        guard ChannelPolicy.isValidRoomName(room) else {
            throw .badRequest(BroadcastRequest.roomNameRule)
        }
        self.room = room
        if let text = query["since"] {
            // Int64 rather than UInt64: the OpenAPI schema's int64 bounds, exactly.
            guard let since = Int64(text), since >= 0 else {
                throw .badRequest("since must be a non-negative integer offset")
            }
            self.since = UInt64(since)
        } else {
            self.since = 0
        }
        self.maxLimit = maxLimit
        let types = query.values("type")
        if !types.isEmpty {
            for type in types where EventRules.invalidNameReason(type) != nil {
                throw .badRequest("type must be an event name of 1 to \(EventRules.maxNameLength) characters without control characters")
            }
            self.types = Set(types.map { ExactName($0) })
        } else {
            self.types = nil
        }
        if let text = query["limit"] {
            guard let limit = Int(text), limit >= 1 else {
                throw .badRequest("limit must be a positive integer")
            }
            self.limit = min(limit, maxLimit)
        } else {
            self.limit = maxLimit
        }
    }
}

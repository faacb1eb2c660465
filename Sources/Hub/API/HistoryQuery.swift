import EngineIO

/// The query of `GET /api/history`: `namespace` (default `/`), `room` (required), `since` (an
/// offset, default 0: everything kept) and `limit` (default and maximum: the history size).
struct HistoryQuery: Sendable, Hashable {
    /// The namespace.
    var namespace: String
    /// The room.
    var room: String
    /// Events with an offset greater than this are returned.
    var since: UInt64
    /// At most this many events, oldest first.
    var limit: Int

    /// Reads and validates the query; `maxLimit` caps `limit` (the per-room history size).
    init(_ query: QueryParameters, maxLimit: Int) throws(APIError) {
        let namespace = query["namespace"] ?? ""
        self.namespace = namespace.isEmpty ? "/" : namespace
        guard self.namespace.hasPrefix("/") else {
            throw .badRequest("namespace must start with \"/\"")
        }
        guard let room = query["room"], !room.isEmpty else {
            throw .badRequest("room is required")
        }
        guard room.utf8.count <= ChannelPolicy.maxRoomNameLength else {
            throw .badRequest("room names must be 1 to \(ChannelPolicy.maxRoomNameLength) bytes long")
        }
        self.room = room
        if let text = query["since"], !text.isEmpty {
            guard let since = UInt64(text) else {
                throw .badRequest("since must be a non-negative integer offset")
            }
            self.since = since
        } else {
            self.since = 0
        }
        if let text = query["limit"], !text.isEmpty {
            guard let limit = Int(text), limit >= 1 else {
                throw .badRequest("limit must be a positive integer")
            }
            self.limit = min(limit, maxLimit)
        } else {
            self.limit = maxLimit
        }
    }
}

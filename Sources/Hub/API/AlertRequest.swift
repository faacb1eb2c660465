import SocketIO

/// A `POST /api/alerts` body: `{"level": "info|warning|error|critical", "message": "…",
/// "source": "…", …}`. Other members are passed through in the alert's data, in the order sent.
struct AlertRequest: Sendable, Hashable {
    /// The severity.
    var level: EventBroadcaster.AlertLevel
    /// What happened.
    var message: String
    /// What raised it (a host, a service).
    var source: String
    /// The whole body; ``EventBroadcaster/alert(level:message:source:extra:publisher:)`` sets
    /// `level`, `message` and `source` in place, so the order the client chose is kept.
    var extra: JSONObject

    /// Reads and validates a body: an object with a known `level` and non-empty string `message`
    /// and `source`.
    init(_ value: JSONValue) throws(APIError) {
        guard let object = value.objectValue else {
            throw .badRequest("body must be a JSON object")
        }
        let levels = EventBroadcaster.AlertLevel.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = object["level"]?.stringValue, let level = EventBroadcaster.AlertLevel(rawValue: name) else {
            throw .badRequest("level must be one of \(levels)")
        }
        guard let message = object["message"]?.stringValue, !message.isEmpty else {
            throw .badRequest("message must be a non-empty string")
        }
        guard let source = object["source"]?.stringValue, !source.isEmpty else {
            throw .badRequest("source must be a non-empty string")
        }
        self.level = level
        self.message = message
        self.source = source
        self.extra = object
    }
}

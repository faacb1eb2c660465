import NIOHTTP1

/// The routes of ``HubAPIEndpoint``, by path. Each has one method; the others are answered 405.
enum APIRoute: String, Sendable, CaseIterable {
    /// `GET /api/websocket/status` (role admin or monitor).
    case status = "/api/websocket/status"
    /// `GET /api/v1/websocket/status`, the same report (role admin or monitor).
    case statusV1 = "/api/v1/websocket/status"
    /// `POST /api/broadcast` (role service or admin).
    case broadcast = "/api/broadcast"
    /// `POST /api/alerts` (role service or admin).
    case alerts = "/api/alerts"
    /// `GET /api/history` (role service or admin).
    case history = "/api/history"
    /// `GET /healthz` (no auth).
    case health = "/healthz"
    /// `GET /health`, the same answer (no auth).
    case healthAlias = "/health"
    /// `GET /metrics` (no auth).
    case metrics = "/metrics"

    /// The route of a request path; a trailing `/` is ignored.
    init?(path: String) {
        // By bytes: a combining mark after the last "/" would make it part of another character.
        if path.utf8.count > 1, path.utf8.last == UInt8(ascii: "/") {
            self.init(rawValue: String(decoding: path.utf8.dropLast(), as: UTF8.self))
        } else {
            self.init(rawValue: path)
        }
    }

    /// The one method the route takes.
    var method: HTTPMethod {
        switch self {
        case .status, .statusV1, .history, .health, .healthAlias, .metrics: .GET
        case .broadcast, .alerts: .POST
        }
    }

    /// The roles of which a caller needs one; `nil` for routes without authentication.
    var roles: [Role]? {
        switch self {
        case .status, .statusV1: [.admin, .monitor]
        case .broadcast, .alerts, .history: [.service, .admin]
        case .health, .healthAlias, .metrics: nil
        }
    }

    /// The `route` label of `hub_http_requests_total`: the path template.
    var label: String { self.rawValue }

    /// The `route` label for requests under `/api/` that match no route.
    static let unknownLabel = "unmatched"
}

import NIOHTTP1

/// Cross-origin resource sharing, as socket.io's `cors` option (the `cors` package): for polling
/// requests and WebSocket upgrades, and for any other endpoint on the same server that opts in
/// (the hub's HTTP API and SSE gateway).
///
/// An allowed origin is echoed in `Access-Control-Allow-Origin` with `Vary: Origin`; other origins
/// get no CORS headers (the browser then withholds the answer). A request from the server's own
/// origin (its `Origin` names the `Host` it was sent to) is not cross-origin and is never refused:
/// that is what a page the server serves itself sends, and what non-browser WebSocket clients such
/// as websocket-client (under python-socketio) send on every handshake.
public struct CORSConfiguration: Sendable, Hashable {
    /// Origins allowed, such as `https://app.example.com`; `["*"]` allows any origin.
    public var allowedOrigins: [String]
    /// Whether `Access-Control-Allow-Credentials: true` is sent (cookies on polling). Default `false`.
    public var allowCredentials: Bool

    /// Creates a CORS configuration.
    public init(allowedOrigins: [String], allowCredentials: Bool = false) {
        self.allowedOrigins = allowedOrigins
        self.allowCredentials = allowCredentials
    }

    /// Whether `origin` is on the allowlist.
    public func allows(origin: String) -> Bool {
        self.allowedOrigins.contains("*") || self.allowedOrigins.contains(origin)
    }

    /// Whether a request with this head may be served: it has no `Origin`, names the server's own
    /// origin, or an allowed one.
    public func allows(_ head: HTTPRequestHead) -> Bool {
        guard let origin = head.headers.first(name: "origin") else { return true }
        return self.allows(origin: origin) || Self.isSameOrigin(origin, host: head.headers.first(name: "host"))
    }

    /// The CORS headers of an answer to `head`: none unless its `Origin` is allowed.
    public func headers(for head: HTTPRequestHead) -> HTTPHeaders {
        var headers = HTTPHeaders()
        guard let origin = head.headers.first(name: "origin"), self.allows(origin: origin) else {
            return headers
        }
        headers.add(name: "Access-Control-Allow-Origin", value: origin)
        headers.add(name: "Vary", value: "Origin")
        if self.allowCredentials {
            headers.add(name: "Access-Control-Allow-Credentials", value: "true")
        }
        return headers
    }

    /// The headers of a `204` answer to a preflight (`OPTIONS`): ``headers(for:)`` plus the allowed
    /// methods and request headers and how long the browser may cache them; none for an origin that
    /// is not allowed.
    ///
    /// - Parameters:
    ///   - methods: The methods allowed, such as `GET, POST, OPTIONS`.
    ///   - allowedHeaders: The request headers allowed; `nil` echoes what the preflight asks for
    ///     (`Access-Control-Request-Headers`).
    ///   - maxAge: Seconds the preflight may be cached; `nil` for none.
    public func preflightHeaders(for head: HTTPRequestHead, methods: String, allowedHeaders: String? = nil,
                                 maxAge: Int? = nil) -> HTTPHeaders {
        var headers = self.headers(for: head)
        guard !headers.isEmpty else { return headers }
        headers.add(name: "Access-Control-Allow-Methods", value: methods)
        if let allowed = allowedHeaders ?? head.headers.first(name: "access-control-request-headers") {
            headers.add(name: "Access-Control-Allow-Headers", value: allowed)
        }
        if let maxAge {
            headers.add(name: "Access-Control-Max-Age", value: String(maxAge))
        }
        return headers
    }

    /// Whether `origin` (`scheme://host[:port]`) names `host` (a `Host` header, `host[:port]`):
    /// hosts compare without regard to ASCII case, and a missing port is the scheme's default
    /// (80 for `http`/`ws`, 443 for `https`/`wss`).
    public static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, let separator = origin.range(of: "://") else { return false }
        let scheme = origin[..<separator.lowerBound].lowercased()
        let defaultPort: String
        switch scheme {
        case "http", "ws": defaultPort = "80"
        case "https", "wss": defaultPort = "443"
        default: return false
        }
        func normalized(_ authority: Substring) -> String {
            let lowered = authority.lowercased()
            // A bracketed IPv6 literal keeps its colons: a port follows the "]".
            let hostEnd = lowered.lastIndex(of: "]") ?? lowered.startIndex
            if lowered[hostEnd...].contains(":") {
                return lowered
            }
            return lowered + ":" + defaultPort
        }
        let authority = origin[separator.upperBound...]
        guard !authority.isEmpty, !authority.contains("/") else { return false }
        return normalized(authority) == normalized(Substring(host))
    }
}

import NIOCore

/// The Engine.IO transports a server can offer.
public enum EngineTransportKind: String, Sendable, Hashable, CaseIterable {
    /// HTTP long-polling (`transport=polling`).
    case polling
    /// WebSocket (`transport=websocket`).
    case websocket
}

/// Configuration of an ``EngineServer``. Option names and defaults follow socket.io's `ServerOptions`.
public struct EngineConfiguration: Sendable {
    /// The path the engine answers on, always with a trailing slash. Default `/socket.io/`.
    public var path: String {
        didSet { self.path = Self.normalize(path: self.path) }
    }
    /// How often the server sends a ping packet. Default 25 000 ms.
    public var pingInterval: TimeAmount = .milliseconds(25_000)
    /// How long the server waits for the pong after a ping before closing the session. Default 20 000 ms.
    public var pingTimeout: TimeAmount = .milliseconds(20_000)
    /// How long a WebSocket upgrade may take, from the candidate WebSocket's handshake to its `5`
    /// packet (as engine.io). Default 10 000 ms.
    public var upgradeTimeout: TimeAmount = .milliseconds(10_000)
    /// The largest message, polling request body or WebSocket frame accepted, in bytes; sent to
    /// clients as `maxPayload`. Default 1 000 000.
    public var maxHttpBufferSize: Int = 1_000_000
    /// The transports clients may use. Default polling and websocket.
    public var transports: Set<EngineTransportKind> = [.polling, .websocket]
    /// Whether a polling session may upgrade to WebSocket. Default `true`.
    public var allowUpgrades: Bool = true
    /// Cross-origin settings for browsers; `nil` (the default) sends no CORS headers.
    public var cors: CORSConfiguration? = nil
    /// The most bytes queued for one session while its transport cannot take them (a polling client
    /// between two GETs, or a WebSocket whose socket buffer is full). When a non-volatile packet would
    /// pass it the session is closed with reason "transport buffer full"; volatile packets are dropped
    /// as soon as the transport is not writable. Default 8 MiB (socket.io has no such bound).
    public var maxBufferedBytes: Int = 8 * 1024 * 1024

    /// The most packets one long-polling response carries; the rest wait for the next GET (which
    /// is answered at once). python-engineio clients refuse payloads of more than 16 packets (their
    /// `max_decode_packets`), so the default is 16; socket.io sends the whole buffer.
    public var maxPacketsPerPoll: Int = 16

    /// The most Engine.IO sessions open at once, whatever their transport (a polling session that
    /// upgrades to WebSocket stays one session). A handshake past it is answered 503 (a polling GET,
    /// or a WebSocket upgrade refused before the 101). `0` means no limit. Default 100 000
    /// (socket.io has no such bound).
    public var maxConnections: Int = 100_000
    /// The most Engine.IO sessions open at once from one client IP address (the TCP peer, not a
    /// forwarded header); past it a handshake is answered 503. `0` (the default) means no limit:
    /// behind a reverse proxy every client has the proxy's address.
    public var maxConnectionsPerIP: Int = 0

    /// socket.io's `cookie` option: a cookie (value: the session id) set on the responses of a
    /// polling session, for sticky sessions behind a load balancer; `nil` (the default, as in
    /// socket.io 3 and later) sets none. A WebSocket-only session needs none (one connection).
    public var cookie: EngineCookie? = nil

    /// Creates a configuration with socket.io's defaults at `path`.
    public init(path: String = "/socket.io/") {
        self.path = Self.normalize(path: path)
    }

    static func normalize(path: String) -> String {
        var p = path
        if !p.hasPrefix("/") { p = "/" + p }
        if !p.hasSuffix("/") { p += "/" }
        return p
    }

    /// The transports a polling session may upgrade to, as announced in the handshake.
    var upgradesFromPolling: [EngineTransportKind] {
        self.allowUpgrades && self.transports.contains(.websocket) ? [.websocket] : []
    }
}

import EngineIO
import NIOCore
import NIOHTTP1

/// The Server-Sent Events gateway at `/sse`: `GET /sse/ROOM` or `GET /sse?room=…` answers `200`
/// `text/event-stream` and streams the room's hub events until the client goes, each as
/// `id: <offset>`, `event: <type>`, `data: <event JSON>`. Browsers read it with `EventSource`.
/// Docs/sse.md describes it.
///
/// The same tokens as everywhere (`Authorization: Bearer …`, or `?token=` since `EventSource`
/// cannot set headers) and the same grants (``ChannelPolicy``). Before the stream starts, refusals
/// are JSON like the API's: 405 (`Allow: GET`), 401 (`WWW-Authenticate`), 400, 403, and 503 when
/// `maxConnections` streams are open already. With allowed origins configured (`cors`), the stream
/// and every refusal carry CORS headers for an allowed `Origin`, and `OPTIONS` is a preflight
/// answered `204`, as on the HTTP API.
///
/// ```swift
/// let http = HTTPServer(configuration: .init(host: "127.0.0.1", port: 3000),
///                       endpoints: [hub.io.engine, SSEEndpoint(hub: hub)], group: group, logger: logger)
/// ```
public final class SSEEndpoint: HTTPEndpoint {
    /// Where the gateway is served.
    public static let path = "/sse"
    /// The `retry:` sent first: how long an `EventSource` waits before reconnecting, in
    /// milliseconds (2000).
    public static let reconnectDelay = 2000
    /// The connection's outbound buffer marks: writability (the slow-consumer clock) follows the
    /// high one, as on `/stream`.
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 64 * 1024, high: 256 * 1024)
    /// The `route` label of `hub_http_requests_total` for `/sse` requests.
    static let routeLabel = "/sse"

    /// What a request path asks for.
    typealias Target = GatewayTarget

    private let hub: Hub

    /// Creates the gateway for `hub`; its settings come from `hub.configuration`.
    public init(hub: Hub) {
        self.hub = hub
    }

    /// What `path` asks for, or `nil` if it is not the gateway's or names no usable room.
    ///
    /// `/sse` and `/sse/` are ``Target/bare``. `/sse/{room}` is ``Target/room(_:)`` with the room
    /// percent-decoded (`/sse/team%2Fops` is room `team/ops`); a room segment with a raw `/` or a
    /// malformed escape gives `nil`.
    static func target(of path: String) -> Target? {
        GatewayTarget(path: path, mount: Self.path)
    }

    // MARK: HTTPEndpoint

    /// `/sse` and everything under `/sse/` (compared by bytes).
    public func matches(path: String) -> Bool {
        path.utf8.elementsEqual(Self.path.utf8) || path.utf8.starts(with: (Self.path + "/").utf8)
    }

    /// A GET has no body: 1 KiB is plenty.
    public var maxRequestBodySize: Int { 1024 }

    /// Checks the request (method, token, query, grants, the bound on streams), then starts the
    /// stream; or answers the refusal as JSON `{"error", "message"}`.
    public func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
        if request.head.method == .OPTIONS {
            sink.send(HubAPIEndpoint.preflightResponse(for: request.head, methods: [.GET], cors: self.hub.cors))
            return
        }
        let refusal: APIError
        do throws(APIError) {
            let (principal, sse) = try self.check(request)
            guard self.hub.sseStats.open(namespace: sse.namespace, room: sse.room, limit: self.hub.configuration.maxConnections) else {
                throw APIError(status: .serviceUnavailable, error: "service unavailable",
                               message: "too many event streams open (maxConnections)")
            }
            self.start(sse, principal: principal, sink: sink, cors: self.hub.cors?.headers(for: request.head) ?? [:])
            return
        } catch {
            refusal = error
        }
        if let reason = refusal.authFailureReason {
            self.hub.metrics.recordAuthFailure(reason: reason)
        }
        self.hub.metrics.recordRequest(route: Self.routeLabel, status: refusal.status.code)
        var response = refusal.response
        if let cors = self.hub.cors {
            response.headers.add(contentsOf: cors.headers(for: request.head))
        }
        sink.send(response)
    }

    /// The checks, in the API's order: method (405), token (401), path and query (400), grants (403).
    private func check(_ request: HTTPServerRequest) throws(APIError) -> (Principal, SSERequest) {
        guard request.head.method == .GET else {
            throw .methodNotAllowed(request.head.method, allowed: [.GET])
        }
        let principal: Principal
        switch self.hub.authenticator.authenticate(token: SSERequest.token(of: request)) {
        case .failure(let failure):
            throw .unauthorized(failure.reason)
        case .success(let authenticated):
            principal = authenticated
        }
        guard let target = Self.target(of: request.target.path) else {
            throw .badRequest("invalid room in path")
        }
        let sse = try SSERequest(request, target: target)
        guard ChannelPolicy.mayConnect(principal, to: sse.namespace) else {
            throw APIError(status: .forbidden, error: "forbidden", message: "role required for \(sse.namespace)",
                           authFailureReason: "role required")
        }
        if let refusal = ChannelPolicy.refusalToJoin(principal, room: sse.room, in: sse.namespace) {
            throw APIError(status: .forbidden, error: "forbidden", message: refusal,
                           authFailureReason: refusal == "room not granted" ? "room not granted" : "role required")
        }
        return (principal, sse)
    }

    /// Writes the head and hands the stream to an ``SSEConnection``.
    private func start(_ sse: SSERequest, principal: Principal, sink: HTTPResponseSink, cors: HTTPHeaders) {
        var headers: HTTPHeaders = [
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            // nginx: pass events on as they come instead of buffering the response.
            "X-Accel-Buffering": "no",
        ]
        headers.add(contentsOf: cors)
        guard let stream = sink.startStream(status: .ok, headers: headers, writeBufferWaterMark: Self.writeBufferWaterMark) else {
            // The client went away while the request was checked.
            self.hub.sseStats.close(namespace: sse.namespace, room: sse.room)
            return
        }
        self.hub.metrics.recordRequest(route: Self.routeLabel, status: HTTPResponseStatus.ok.code)
        let configuration = self.hub.configuration
        let state = SSESessionState(namespace: sse.namespace, room: sse.room, types: sse.types, lastEventID: sse.lastEventID,
                                    maxBufferedBytes: configuration.sseMaxBufferedBytes, reconnectDelay: Self.reconnectDelay)
        SSEConnection(hub: self.hub, stream: stream, principal: principal, state: state,
                      heartbeatInterval: .milliseconds(Int64(configuration.sseHeartbeatInterval))).start()
    }
}

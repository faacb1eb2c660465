import EngineIO
import Logging
import NIOCore
import NIOHTTP1
import SocketIO

/// The hub's HTTP API, served on the Socket.IO port: everything under `/api/`, plus `/healthz`
/// and `/metrics`. Docs/http-api.md describes each route; Docs/openapi.yaml is the schema.
///
/// | Route | Auth |
/// |---|---|
/// | `GET /api/websocket/status`, `GET /api/v1/websocket/status` | role admin or monitor |
/// | `POST /api/broadcast` | role service or admin |
/// | `POST /api/alerts` | role service or admin |
/// | `GET /api/history` | role service or admin |
/// | `GET /healthz`, `GET /health` | none |
/// | `GET /metrics` | none (Prometheus convention; it carries no secrets) |
///
/// Callers authenticate with `Authorization: Bearer <token>` (a JWT or a static token). Every
/// error is JSON `{"error", "message"}`: 401 (with `WWW-Authenticate: Bearer …`), 403, 400, 404
/// for unknown `/api/` paths, 405 (with `Allow`); a body over `maxHttpBufferSize` is answered 413
/// by the HTTP server before it reaches the endpoint. Tokens are never logged or echoed.
///
/// With allowed origins configured (`cors`), every answer carries CORS headers for an allowed
/// `Origin`, and a preflight (`OPTIONS` on a route) is answered `204` allowing the route's method
/// and the `Authorization` and `Content-Type` request headers. `OPTIONS` on an unknown `/api/`
/// path is a 404 like any other method.
public struct HubAPIEndpoint: HTTPEndpoint {
    /// The hub served.
    public let hub: Hub

    /// Creates the endpoint for `hub`.
    public init(hub: Hub) {
        self.hub = hub
    }

    // MARK: HTTPEndpoint

    /// `/api` and everything under `/api/`, `/healthz` and `/metrics` — except paths of the
    /// Engine.IO endpoint, should it be mounted under `/api/`.
    public func matches(path: String) -> Bool {
        // Compared by bytes, not characters (a combining mark after "/" would hide the slash).
        guard path == "/api" || path.utf8.starts(with: "/api/".utf8) || APIRoute(path: path) != nil else { return false }
        return !self.hub.io.engine.matches(path: path)
    }

    /// The hub's `maxHttpBufferSize`.
    public var maxRequestBodySize: Int {
        self.hub.configuration.maxHttpBufferSize
    }

    public func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
        let route = APIRoute(path: request.target.path)
        if request.head.method == .OPTIONS, let route {
            sink.send(Self.preflightResponse(for: request.head, methods: [route.method], cors: self.hub.cors))
            return
        }
        Task {
            let response: HTTPServerResponse
            do throws(APIError) {
                response = try await self.respond(to: request, route: route)
            } catch {
                if let reason = error.authFailureReason {
                    self.hub.metrics.recordAuthFailure(reason: reason)
                }
                response = error.response
            }
            self.hub.metrics.recordRequest(route: route?.label ?? APIRoute.unknownLabel, status: response.status.code)
            self.hub.logger.debug("api request", metadata: [
                "method": "\(request.head.method.rawValue)",
                "route": "\(route?.label ?? APIRoute.unknownLabel)",
                "status": "\(response.status.code)",
            ])
            var answer = response
            if let cors = self.hub.cors {
                answer.headers.add(contentsOf: cors.headers(for: request.head))
            }
            sink.send(answer)
        }
    }

    /// The answer to `OPTIONS` on a route taking `methods`: `204` with `Allow` (those methods and
    /// `OPTIONS`), and the CORS preflight headers for an allowed origin. Shared with the SSE gateway.
    static func preflightResponse(for head: HTTPRequestHead, methods: [HTTPMethod], cors: CORSConfiguration?) -> HTTPServerResponse {
        let allowed = (methods + [.OPTIONS]).map(\.rawValue).joined(separator: ", ")
        var headers = cors?.preflightHeaders(for: head, methods: allowed, allowedHeaders: "Authorization, Content-Type",
                                             maxAge: 600) ?? HTTPHeaders()
        headers.add(name: "Allow", value: allowed)
        return HTTPServerResponse(status: .noContent, headers: headers)
    }

    /// Counts the 413 the HTTP server answered.
    public func requestBodyTooLarge(_ head: HTTPRequestHead) {
        let route = APIRoute(path: RequestTarget(uri: head.uri).path)
        self.hub.metrics.recordRequest(route: route?.label ?? APIRoute.unknownLabel,
                                       status: HTTPResponseStatus.payloadTooLarge.code)
    }

    // MARK: Routing

    private func respond(to request: HTTPServerRequest, route: APIRoute?) async throws(APIError) -> HTTPServerResponse {
        guard let route else { throw .notFound() }
        guard request.head.method == route.method else {
            throw .methodNotAllowed(request.head.method, allowed: [route.method])
        }
        var principal: Principal? = nil
        if let roles = route.roles {
            principal = try await self.authorize(request, roles: roles)
        }
        switch route {
        case .health, .healthAlias:
            return Self.jsonResponse(.ok, ["status": "ok"])
        case .metrics:
            let text = await self.hub.metrics.render(hub: self.hub)
            var response = HTTPServerResponse.text(.ok, text, contentType: HubMetrics.contentType)
            response.headers.add(name: "Cache-Control", value: "no-store")
            return response
        case .status, .statusV1:
            return Self.jsonResponse(.ok, await self.statusBody())
        case .broadcast:
            try self.admitPublish(principal!)
            return try await self.broadcast(request, principal: principal!)
        case .alerts:
            try self.admitPublish(principal!)
            return try await self.alert(request, principal: principal!)
        case .history:
            return try await self.history(request, principal: principal!)
        }
    }

    /// The principal of the request's bearer token, if it has one of `roles`.
    private func authorize(_ request: HTTPServerRequest, roles: [Role]) async throws(APIError) -> Principal {
        let token = TokenAuthenticator.bearerToken(from: request.head.headers)
        switch await self.hub.authenticator.authenticate(token: token) {
        case .failure(let failure):
            throw .unauthorized(failure.reason)
        case .success(let principal):
            guard principal.hasAny(of: Set(roles)) else { throw .roleRequired(roles) }
            return principal
        }
    }

    /// The per-principal publish rate limit (`apiRateLimit`, `apiRateBurst`): 429 past it.
    private func admitPublish(_ principal: Principal) throws(APIError) {
        guard self.hub.apiRateLimiter.take(subject: principal.subject) else {
            self.hub.metrics.recordLimitReached(.apiRateLimit)
            throw .tooManyRequests()
        }
    }

    // MARK: Routes

    /// `POST /api/broadcast`: one event, or `{"events": […]}`. Every event is checked before any
    /// is published.
    private func broadcast(_ request: HTTPServerRequest, principal: Principal) async throws(APIError) -> HTTPServerResponse {
        let body = try Self.parseBody(request)
        let namespaces = Set(self.hub.io.namespaces.map(\.name))
        let requests: [BroadcastRequest]
        let batch: Bool
        if let events = body["events"] {
            guard body.objectValue?.count == 1 else {
                throw .badRequest("a batch is {\"events\": [...]} without other members")
            }
            guard let list = events.arrayValue, !list.isEmpty else {
                throw .badRequest("events must be a non-empty array")
            }
            var parsed: [BroadcastRequest] = []
            for (index, element) in list.enumerated() {
                parsed.append(try BroadcastRequest(element, namespaces: namespaces, position: "events[\(index)]"))
            }
            requests = parsed
            batch = true
        } else {
            requests = [try BroadcastRequest(body, namespaces: namespaces)]
            batch = false
        }
        for request in requests where !request.isGranted(to: principal) {
            throw .roomNotGranted()
        }

        var results: [JSONValue] = []
        for request in requests {
            let result: EventBroadcaster.PublishResult
            do {
                result = try await self.hub.broadcaster.publish(
                    type: request.event, data: request.data, namespace: request.namespace, rooms: request.rooms,
                    source: "api:\(principal.subject)")
            } catch {
                throw Self.publishFailed(error)
            }
            results.append(Self.publishSummary(result))
        }
        return Self.jsonResponse(.ok, batch ? ["results": .array(results)] : results[0])
    }

    /// `POST /api/alerts`.
    /// A publish the broadcaster refused after the request passed validation: a server fault.
    private static func publishFailed(_ error: Error) -> APIError {
        APIError(status: .internalServerError, error: "internal error", message: "the event could not be published")
    }

    private func alert(_ request: HTTPServerRequest, principal: Principal) async throws(APIError) -> HTTPServerResponse {
        let alert = try AlertRequest(try Self.parseBody(request))
        let result: EventBroadcaster.PublishResult
        do {
            result = try await self.hub.broadcaster.alert(level: alert.level, message: alert.message, source: alert.source,
                                                          extra: alert.extra, publisher: "api:\(principal.subject)")
        } catch {
            throw Self.publishFailed(error)
        }
        return Self.jsonResponse(.ok, Self.publishSummary(result))
    }

    /// `GET /api/history`.
    private func history(_ request: HTTPServerRequest, principal: Principal) async throws(APIError) -> HTTPServerResponse {
        let query = try HistoryQuery(request.target.query, maxLimit: self.hub.history.capacityPerRoom)
        guard principal.mayJoin(room: query.room) else { throw .roomNotGranted() }
        let (latest, kept) = try await self.historyEvents(query)
        let events = query.types.map { types in Array(kept.lazy.filter { types.contains(ExactName($0.type)) }.prefix(query.limit)) } ?? kept
        return Self.jsonResponse(.ok, [
            "namespace": .string(query.namespace),
            "room": .string(query.room),
            "latest_offset": .number(Double(latest)),
            "events": .array(events.map(\.json)),
        ])
    }

    // MARK: Helpers

    /// `{"id", "delivered"}`: the first event's id (one event per target room was created) and the
    /// deliveries made.
    private static func publishSummary(_ result: EventBroadcaster.PublishResult) -> JSONValue {
        ["id": .string(result.events.first?.id ?? ""), "delivered": .number(Double(result.delivered))]
    }

    /// The request body as JSON; a missing or empty body is a 400 too.
    private static func parseBody(_ request: HTTPServerRequest) throws(APIError) -> JSONValue {
        guard let body = request.body, body.readableBytes > 0 else {
            throw .badRequest("a JSON body is required")
        }
        do {
            return try JSONValue.parse(body)
        } catch {
            throw .invalidJSON(error)
        }
    }

    /// A JSON response that caches nowhere.
    static func jsonResponse(_ status: HTTPResponseStatus, _ body: JSONValue) -> HTTPServerResponse {
        var response = HTTPServerResponse.json(status, body.jsonString)
        response.headers.add(name: "Cache-Control", value: "no-store")
        return response
    }
}

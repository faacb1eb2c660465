import EngineIO
import NIOCore
import NIOHTTP1
import SocketIO

/// An HTTP API error, answered as `{"error": "…", "message": "…"}` with its status code.
///
/// `error` is a fixed phrase per status (`"unauthorized"`, `"forbidden"`, `"bad request"`,
/// `"not found"`, `"method not allowed"`); `message` says what was wrong. Neither ever contains a
/// token.
struct APIError: Error, Sendable {
    /// The response status.
    var status: HTTPResponseStatus
    /// The fixed phrase for the status.
    var error: String
    /// The explanation.
    var message: String
    /// Extra response headers (`WWW-Authenticate`, `Allow`).
    var headers: HTTPHeaders = [:]
    /// For 401 and 403: the short reason counted in `hub_auth_failures_total`.
    var authFailureReason: String? = nil

    /// The JSON body.
    var body: JSONValue {
        ["error": .string(self.error), "message": .string(self.message)]
    }

    /// The response.
    var response: HTTPServerResponse {
        var response = HubAPIEndpoint.jsonResponse(self.status, self.body)
        response.headers.add(contentsOf: self.headers)
        return response
    }

    // MARK: Factories

    /// 401: no token, or one that is invalid or expired. `reason` is ``AuthFailure/reason``.
    static func unauthorized(_ reason: String) -> APIError {
        // RFC 6750 §3: no error code when the request carried no credentials at all.
        let challenge = reason == "missing token" ? #"Bearer realm="hub""# : #"Bearer realm="hub", error="invalid_token""#
        return APIError(status: .unauthorized, error: "unauthorized", message: reason,
                        headers: ["WWW-Authenticate": challenge], authFailureReason: reason)
    }

    /// 403: a valid token without the role the route needs.
    static func roleRequired(_ roles: [Role]) -> APIError {
        let names = roles.map(\.rawValue).joined(separator: " or ")
        return APIError(status: .forbidden, error: "forbidden", message: "role \(names) required",
                        authFailureReason: "role required")
    }

    /// 429: past the publish rate limit of the token's subject; `Retry-After: 1`.
    static func tooManyRequests() -> APIError {
        var error = APIError(status: .tooManyRequests, error: "too many requests", message: "rate limited")
        error.headers.add(name: "Retry-After", value: "1")
        return error
    }

    /// 403: a valid token whose room grant does not include a room the request names.
    static func roomNotGranted() -> APIError {
        APIError(status: .forbidden, error: "forbidden", message: "room not granted", authFailureReason: "room not granted")
    }

    /// 400 with `message`.
    static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, error: "bad request", message: message)
    }

    /// 400 for a body that is not JSON, with the parser's explanation.
    static func invalidJSON(_ error: JSONError) -> APIError {
        let detail: String
        switch error {
        case .unexpectedEnd: detail = "unexpected end of input"
        case .unexpectedCharacter(let offset): detail = "unexpected character at byte \(offset)"
        case .invalidNumber(let offset): detail = "invalid number at byte \(offset)"
        case .invalidEscape(let offset): detail = "invalid escape sequence at byte \(offset)"
        case .invalidUTF8: detail = "invalid UTF-8"
        case .tooDeep: detail = "nested too deeply"
        case .trailingCharacters(let offset): detail = "unexpected data after the JSON value at byte \(offset)"
        }
        return .badRequest("invalid JSON: \(detail)")
    }

    /// 404 for an unknown path under `/api/`.
    static func notFound() -> APIError {
        APIError(status: .notFound, error: "not found", message: "no such API route")
    }

    /// 405, with the methods the route takes in `Allow`.
    static func methodNotAllowed(_ method: HTTPMethod, allowed: [HTTPMethod]) -> APIError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(status: .methodNotAllowed, error: "method not allowed",
                        message: "\(method.rawValue) is not allowed here (allowed: \(list))", headers: ["Allow": list])
    }
}

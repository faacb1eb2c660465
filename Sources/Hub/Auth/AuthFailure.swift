/// Why a token was refused.
///
/// `.unauthorized` means the token is missing, invalid or expired; `.forbidden` means the token is
/// valid but lacks the role or room grant an operation needs (callers produce it). Reasons are short
/// fixed phrases such as `"token expired"`; they never contain the token itself.
public enum AuthFailure: Error, Sendable, Hashable {
    /// The token is missing, invalid or expired.
    case unauthorized(reason: String)
    /// The token is valid but does not grant what was asked.
    case forbidden(reason: String)

    /// The category, for a client-facing error: `"unauthorized"` or `"forbidden"`.
    public var message: String {
        switch self {
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        }
    }

    /// The short explanation, such as `"missing token"` or `"invalid signature"`.
    public var reason: String {
        switch self {
        case .unauthorized(let reason), .forbidden(let reason): reason
        }
    }
}

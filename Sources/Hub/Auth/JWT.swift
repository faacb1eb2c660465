import Crypto
import Foundation
import SocketIO

/// A compact-serialized JSON Web Token signed with HS256 (RFC 7519, RFC 7515), reduced to what
/// the hub needs: signing, and verifying the header and signature. The claims are returned
/// unchecked; ``TokenAuthenticator`` interprets them.
struct JWT {
    /// The only algorithm accepted.
    static let algorithm = "HS256"
    /// The deepest JSON nesting accepted in a header or payload.
    static let maxJSONDepth = 16

    /// The JOSE header.
    var header: JSONObject
    /// The claims set.
    var claims: JSONObject

    /// Signs `claims` with `key` and returns `header.payload.signature`.
    static func sign(claims: JSONObject, key: SymmetricKey) -> String {
        let header: JSONValue = ["alg": .string(Self.algorithm), "typ": "JWT"]
        let signingInput =
            Base64URL.encode(Array(header.jsonString.utf8)) + "."
            + Base64URL.encode(Array(JSONValue.object(claims).jsonString.utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: key)
        return signingInput + "." + Base64URL.encode(Array(signature))
    }

    /// Parses `token` and checks its header and signature, in that order; the payload is parsed only
    /// once the signature is known to be good.
    ///
    /// Failures: `"malformed token"` (not three base64url parts, or a header or payload that is
    /// not a JSON object), `"unsupported algorithm"` (`alg` other than exactly `HS256`),
    /// `"unsupported header"` (a `crit` header, whose extensions we cannot honour),
    /// `"invalid signature"`.
    static func verify(_ token: String, key: SymmetricKey) throws(AuthFailure) -> JWT {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .unauthorized(reason: "malformed token")
        }
        let header = try Self.object(from: parts[0])
        guard header["alg"]?.stringValue == Self.algorithm else {
            throw .unauthorized(reason: "unsupported algorithm")
        }
        guard header["crit"] == nil else {
            throw .unauthorized(reason: "unsupported header")
        }
        guard let signature = Base64URL.decode(parts[2]) else {
            throw .unauthorized(reason: "malformed token")
        }
        // The signing input is the two encoded parts exactly as received.
        let signingInput = token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array(signingInput), using: key)
        else {
            throw .unauthorized(reason: "invalid signature")
        }
        let claims = try Self.object(from: parts[1])
        return JWT(header: header, claims: claims)
    }

    /// A base64url-encoded JSON object.
    private static func object(from part: Substring) throws(AuthFailure) -> JSONObject {
        guard let data = Base64URL.decode(part),
            let text = String(validating: data, as: UTF8.self),
            let value = try? JSONValue.parse(text, maxDepth: Self.maxJSONDepth),
            let object = value.objectValue
        else {
            throw .unauthorized(reason: "malformed token")
        }
        return object
    }
}

import Crypto
import Foundation
import JWTKit
import SocketIO

/// A compact-serialized JSON Web Token (RFC 7519, RFC 7515), reduced to what the hub needs:
/// reading the header, checking the signature with a ``JWTVerificationKey`` (jwt-kit does the
/// cryptography), and signing HS256 tokens for dev mode and tests. The claims are returned
/// unchecked; ``TokenAuthenticator`` interprets them.
struct JWT {
    /// The deepest JSON nesting accepted in a header or payload.
    static let maxJSONDepth = 16

    /// The JOSE header.
    var header: JSONObject
    /// The claims set.
    var claims: JSONObject

    /// A token whose header was read and whose signature was decoded, not yet verified.
    struct Unverified {
        /// The JOSE header.
        var header: JSONObject
        /// The header's `alg`.
        var algorithm: JWTSigningAlgorithm
        /// The header's `kid`, if any.
        var kid: String?
        /// The first two parts exactly as received (the signing input).
        var signingInput: [UInt8]
        /// The payload part, still encoded.
        var payload: Substring
        /// The decoded signature.
        var signature: Data

        /// Checks the signature with `key` and reads the payload.
        ///
        /// Failures: `"unsupported algorithm"` (the key is pinned to another `alg`),
        /// `"invalid signature"`, `"malformed token"` (a payload that is not a JSON object).
        func verified(with key: JWTVerificationKey) throws(AuthFailure) -> JWT {
            guard key.algorithm == self.algorithm else {
                throw .unauthorized(reason: "unsupported algorithm")
            }
            let valid = (try? key.verifier.verify(self.signature, signs: self.signingInput)) ?? false
            guard valid else {
                throw .unauthorized(reason: "invalid signature")
            }
            return JWT(header: self.header, claims: try JWT.object(from: self.payload))
        }
    }

    /// Reads `token`'s header and signature; the payload is parsed only once the signature is
    /// known to be good (``Unverified/verified(with:)``).
    ///
    /// Failures: `"malformed token"` (not three base64url parts, a header that is not a JSON
    /// object, a `kid` that is not a string), `"unsupported algorithm"` (`alg` not exactly one of
    /// ``JWTSigningAlgorithm``; `none` never is), `"unsupported header"` (a `crit` header, whose
    /// extensions we cannot honour).
    static func read(_ token: String) throws(AuthFailure) -> Unverified {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .unauthorized(reason: "malformed token")
        }
        let header = try Self.object(from: parts[0])
        guard let name = header["alg"]?.stringValue, let algorithm = JWTSigningAlgorithm(rawValue: name) else {
            throw .unauthorized(reason: "unsupported algorithm")
        }
        guard header["crit"] == nil else {
            throw .unauthorized(reason: "unsupported header")
        }
        var kid: String? = nil
        if let value = header["kid"], !value.isNull {
            guard let text = value.stringValue else { throw .unauthorized(reason: "malformed token") }
            kid = text
        }
        guard let signature = Base64URL.decode(parts[2]) else {
            throw .unauthorized(reason: "malformed token")
        }
        // The signing input is the two encoded parts exactly as received.
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        return Unverified(header: header, algorithm: algorithm, kid: kid, signingInput: signingInput,
                          payload: parts[1], signature: signature)
    }

    /// Verifies `token` with `key` alone (header, then signature, then payload).
    static func verify(_ token: String, key: JWTVerificationKey) throws(AuthFailure) -> JWT {
        try Self.read(token).verified(with: key)
    }

    /// Verifies an HS256 `token` with `key` (tests and tools).
    static func verify(_ token: String, key: SymmetricKey) throws(AuthFailure) -> JWT {
        try Self.verify(token, key: Self.hmacKey(key))
    }

    /// Signs `claims` with the HS256 `key` and returns `header.payload.signature`.
    static func sign(claims: JSONObject, key: JWTVerificationKey) -> String {
        let header: JSONValue = ["alg": .string(key.algorithm.rawValue), "typ": "JWT"]
        let signingInput =
            Base64URL.encode(Array(header.jsonString.utf8)) + "."
            + Base64URL.encode(Array(JSONValue.object(claims).jsonString.utf8))
        // jwt-kit's HMAC signer does not fail.
        let signature = (try? key.verifier.sign(Array(signingInput.utf8))) ?? []
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Signs `claims` with HS256 under `key` (tests and tools).
    static func sign(claims: JSONObject, key: SymmetricKey) -> String {
        Self.sign(claims: claims, key: Self.hmacKey(key))
    }

    /// The HS256 verification key for `key`'s bytes.
    static func hmacKey(_ key: SymmetricKey) -> JWTVerificationKey {
        let bytes = key.withUnsafeBytes { Array($0) }
        return CallerThreadExecutor.run { await JWTVerificationKey.hmac(secret: bytes) }
    }

    /// A base64url-encoded JSON object.
    fileprivate static func object(from part: Substring) throws(AuthFailure) -> JSONObject {
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

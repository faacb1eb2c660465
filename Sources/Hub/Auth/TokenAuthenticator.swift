import Crypto
import Foundation
import NIOHTTP1
import SocketIO

/// Turns the token a client presents into a ``Principal``: a static token from the configuration
/// or an HS256 JSON Web Token signed with the configured secret.
///
/// Failure reasons are fixed phrases (see ``authenticate(token:)``); the token itself never
/// appears in a failure, and this type logs nothing.
public final class TokenAuthenticator: Sendable {
    /// Tokens longer than this (in UTF-8 bytes) are refused before any work is done on them.
    static let maxTokenLength = 8192

    /// The HMAC key for JWTs; `nil` when no (non-empty) secret is configured.
    private let jwtKey: SymmetricKey?
    /// The static tokens, by SHA-256 digest; the tokens themselves are not kept.
    private let staticTokens: [(digest: SHA256Digest, principal: Principal)]
    /// The clock for `exp`, `nbf` and issuing.
    private let now: @Sendable () -> Date

    /// Creates an authenticator.
    ///
    /// - Parameters:
    ///   - jwtSecret: The HS256 secret (its UTF-8 bytes are the key); `nil` or empty disables JWTs.
    ///   - staticTokens: Fixed tokens; ones with an empty `token` are ignored.
    ///   - now: The clock, replaceable in tests.
    public init(
        jwtSecret: String?,
        staticTokens: [StaticToken],
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        if let jwtSecret, !jwtSecret.isEmpty {
            self.jwtKey = SymmetricKey(data: Array(jwtSecret.utf8))
        } else {
            self.jwtKey = nil
        }
        self.staticTokens = staticTokens.filter { !$0.token.isEmpty }.map {
            (digest: SHA256.hash(data: Array($0.token.utf8)), principal: $0.principal)
        }
        self.now = now
    }

    /// Whether neither a JWT secret nor static tokens are configured; every token is then refused,
    /// and dev mode decides what to do about it.
    public var isUnconfigured: Bool {
        self.jwtKey == nil && self.staticTokens.isEmpty
    }

    /// Validates `token`.
    ///
    /// A static token is looked up in constant time: the token's SHA-256 digest is compared with
    /// every configured digest, without an early exit. Anything else is checked as an HS256 JWT
    /// when a secret is configured.
    ///
    /// Failures are all `.unauthorized`, with reason `"missing token"` (nil or empty),
    /// `"invalid token"` (unknown, and no JWT secret), `"malformed token"`,
    /// `"unsupported algorithm"` (a JWT `alg` other than `HS256`), `"unsupported header"` (`crit`),
    /// `"invalid signature"`, `"token expired"` (`exp`), `"token not yet valid"` (`nbf`),
    /// `"missing sub"`, or `"invalid claims"` (`roles`, `rooms`, `exp` or `nbf` of the wrong type).
    /// A JWT without `roles` gives a principal with no roles; unknown role names are ignored.
    public func authenticate(token: String?) -> Result<Principal, AuthFailure> {
        guard let token, !token.isEmpty else {
            return .failure(.unauthorized(reason: "missing token"))
        }
        let unknown = AuthFailure.unauthorized(reason: self.jwtKey == nil ? "invalid token" : "malformed token")
        guard token.utf8.count <= Self.maxTokenLength else {
            return .failure(unknown)
        }

        let digest = SHA256.hash(data: Array(token.utf8))
        var matched: Principal? = nil
        for entry in self.staticTokens {
            if Self.constantTimeEquals(digest, entry.digest) {
                matched = entry.principal
            }
        }
        if let matched {
            return .success(matched)
        }

        guard let key = self.jwtKey else {
            return .failure(unknown)
        }
        do throws(AuthFailure) {
            let jwt = try JWT.verify(token, key: key)
            return .success(try self.principal(from: jwt.claims))
        } catch {
            return .failure(error)
        }
    }

    /// Issues an HS256 JWT (for dev mode and tests); `nil` when no secret is configured.
    ///
    /// The claims are `sub`, `roles` (sorted), `rooms` (sorted, only when given), `iat`, and `exp`
    /// (`iat + expiresIn`, only when `expiresIn` is given and finite; negative values issue a token
    /// that is already expired).
    public func issueToken(
        subject: String,
        roles: Set<Role>,
        rooms: Set<String>? = nil,
        expiresIn: TimeInterval? = 3600
    ) -> String? {
        guard let key = self.jwtKey else { return nil }
        let now = self.now().timeIntervalSince1970
        var claims: [(String, JSONValue)] = [
            ("sub", .string(subject)),
            ("roles", .array(roles.map(\.rawValue).sorted().map(JSONValue.string))),
        ]
        if let rooms {
            claims.append(("rooms", .array(rooms.sorted().map(JSONValue.string))))
        }
        claims.append(("iat", .number(now.rounded(.down))))
        if let expiresIn, expiresIn.isFinite {
            claims.append(("exp", .number((now + expiresIn).rounded(.down))))
        }
        return JWT.sign(claims: JSONObject(claims), key: key)
    }

    /// The token of an `Authorization: Bearer <token>` header, if any.
    ///
    /// The scheme is matched case-insensitively and surrounding spaces are ignored; a value with
    /// anything after the token, or another scheme, gives `nil`.
    public static func bearerToken(from headers: HTTPHeaders) -> String? {
        for value in headers["Authorization"] {
            let parts = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { continue }
            return String(parts[1])
        }
        return nil
    }

    /// The token in a Socket.IO CONNECT payload `{"token": "…"}`, if any (a non-empty string).
    public static func token(fromAuth auth: JSONValue) -> String? {
        guard let token = auth["token"]?.stringValue, !token.isEmpty else { return nil }
        return token
    }

    // MARK: - Private

    /// The principal of a verified JWT's claims.
    private func principal(from claims: JSONObject) throws(AuthFailure) -> Principal {
        let now = self.now().timeIntervalSince1970
        if let exp = claims["exp"], !exp.isNull {
            guard let exp = exp.doubleValue else { throw .unauthorized(reason: "invalid claims") }
            guard now < exp else { throw .unauthorized(reason: "token expired") }
        }
        if let nbf = claims["nbf"], !nbf.isNull {
            guard let nbf = nbf.doubleValue else { throw .unauthorized(reason: "invalid claims") }
            guard now >= nbf else { throw .unauthorized(reason: "token not yet valid") }
        }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else {
            throw .unauthorized(reason: "missing sub")
        }

        var roles = Set<Role>()
        if let claim = claims["roles"], !claim.isNull {
            guard let names = claim.arrayValue else { throw .unauthorized(reason: "invalid claims") }
            for name in names {
                guard let name = name.stringValue else { throw .unauthorized(reason: "invalid claims") }
                if let role = Role(rawValue: name) {
                    roles.insert(role)
                }
            }
        }

        var rooms: Set<String>? = nil
        if let claim = claims["rooms"], !claim.isNull {
            guard let names = claim.arrayValue else { throw .unauthorized(reason: "invalid claims") }
            var granted = Set<String>()
            for name in names {
                guard let name = name.stringValue else { throw .unauthorized(reason: "invalid claims") }
                granted.insert(name)
            }
            rooms = granted
        }
        return Principal(subject: subject, roles: roles, rooms: rooms)
    }

    /// Whether two digests are equal, looking at every byte whatever the outcome.
    private static func constantTimeEquals(_ lhs: SHA256Digest, _ rhs: SHA256Digest) -> Bool {
        lhs.withUnsafeBytes { lhs in
            rhs.withUnsafeBytes { rhs in
                var difference: UInt8 = 0
                for index in 0..<min(lhs.count, rhs.count) {
                    difference |= lhs[index] ^ rhs[index]
                }
                return difference == 0 && lhs.count == rhs.count
            }
        }
    }
}

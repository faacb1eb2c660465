import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SocketIO

/// Turns the token a client presents into a ``Principal``: a static token from the configuration,
/// or a JSON Web Token verified with jwt-kit — HS256 with the configured secret, or RS256/384/512,
/// PS256, ES256/384 or EdDSA with a configured public key or the keys of a JWKS (file or URL).
///
/// Failure reasons are fixed phrases (see ``authenticate(token:)-(String?)``); the token itself
/// never appears in a failure, and this type logs nothing about tokens (only JWKS load failures).
public final class TokenAuthenticator: Sendable {
    /// How tokens are verified.
    public struct Configuration: Sendable {
        /// The HS256 secret (its UTF-8 bytes are the key, at least 32 of them: jwt-kit asserts it in
        /// debug builds, and ``HubConfiguration/validate()`` refuses shorter ones); `nil` or empty:
        /// no HS256. Default `nil`.
        public var jwtSecret: String? = nil
        /// A PEM public key (RSA, P-256, P-384 or Ed25519) for tokens without a `kid` (or with one
        /// no JWKS key has). Default `nil`.
        public var publicKeyPEM: String? = nil
        /// The algorithm pinned to ``publicKeyPEM`` and to JWKS keys that name none; `nil` (the
        /// default) infers it from the key: RSA → RS256, P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA.
        public var keyAlgorithm: JWTSigningAlgorithm? = nil
        /// A JWKS file path or `http(s)://` URL; `nil` (the default) for none.
        public var jwks: String? = nil
        /// How old the JWKS keys may get before they are reloaded. Default 5 minutes.
        public var jwksRefreshInterval: TimeAmount = .minutes(5)
        /// The shortest time between two JWKS loads caused by an unknown `kid`. Default 10 s.
        public var jwksRefetchCooldown: TimeAmount = .seconds(10)
        /// The `iss` a JWT must carry; `nil` (the default): not checked.
        public var issuer: String? = nil
        /// The audience a JWT's `aud` (a string or an array) must contain; `nil` (the default):
        /// not checked.
        public var audience: String? = nil
        /// Seconds of clock skew allowed for `exp` and `nbf`. Default `0`.
        public var leeway: Int = 0
        /// The longest token accepted, in UTF-8 bytes. Default `12288`.
        public var maxTokenLength: Int = 12_288

        /// Creates a configuration with the defaults (no JWTs).
        public init() {}
    }

    /// The default longest token accepted, in UTF-8 bytes.
    public static let defaultMaxTokenLength = 12_288

    private let configuration: Configuration
    /// The HS256 key; `nil` when no (non-empty) secret is configured.
    private let hmacKey: JWTVerificationKey?
    /// The keys without a `kid`: the HS256 key and the PEM public key.
    private let fixedKeys: [JWTVerificationKey]
    /// The JWKS, when one is configured.
    private let jwks: JWKSSource?
    /// The static tokens, by SHA-256 digest; the tokens themselves are not kept.
    private let staticTokens: [(digest: SHA256Digest, principal: Principal)]
    /// The clock for `exp`, `nbf` and issuing.
    private let now: @Sendable () -> Date

    /// Creates an authenticator with HS256 JWTs (or none) and static tokens.
    ///
    /// - Parameters:
    ///   - jwtSecret: The HS256 secret (its UTF-8 bytes are the key, at least 32 bytes); `nil` or
    ///     empty disables JWTs.
    ///   - staticTokens: Fixed tokens; ones with an empty `token` are ignored.
    ///   - now: The clock, replaceable in tests.
    public convenience init(
        jwtSecret: String?,
        staticTokens: [StaticToken],
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        var configuration = Configuration()
        configuration.jwtSecret = jwtSecret
        // Without a public key or JWKS, nothing can fail.
        try! self.init(configuration: configuration, staticTokens: staticTokens, now: now)
    }

    /// Creates an authenticator.
    ///
    /// The secret and the PEM key are turned into verifiers here, and a JWKS file is read here; a
    /// JWKS URL is fetched in the background (the async ``authenticate(token:)-(String?)`` waits
    /// for that first fetch).
    ///
    /// - Throws: ``HubConfigurationError`` for a PEM key or JWKS file that cannot be used.
    public init(
        configuration: Configuration,
        staticTokens: [StaticToken],
        logger: Logger? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.configuration = configuration
        var fixed: [JWTVerificationKey] = []
        if let secret = configuration.jwtSecret, !secret.isEmpty {
            let bytes = Array(secret.utf8)
            let key = CallerThreadExecutor.run { await JWTVerificationKey.hmac(secret: bytes) }
            self.hmacKey = key
            fixed.append(key)
        } else {
            self.hmacKey = nil
        }
        if let pem = configuration.publicKeyPEM {
            let algorithm = configuration.keyAlgorithm
            let result = CallerThreadExecutor.run { () async -> Result<JWTVerificationKey, JWTVerificationKey.LoadError> in
                do throws(JWTVerificationKey.LoadError) {
                    return .success(try await JWTVerificationKey.publicKey(pem: pem, algorithm: algorithm))
                } catch {
                    return .failure(error)
                }
            }
            switch result {
            case .success(let key): fixed.append(key)
            case .failure(let error): throw HubConfigurationError(key: "jwtPublicKeyFile", problem: error.description)
            }
        }
        self.fixedKeys = fixed
        if let location = configuration.jwks {
            var source = JWKSSource.Configuration(location: JWKSSource.Location(location))
            source.refreshInterval = configuration.jwksRefreshInterval
            source.refetchCooldown = configuration.jwksRefetchCooldown
            source.defaultAlgorithm = configuration.keyAlgorithm
            do throws(JWTVerificationKey.LoadError) {
                self.jwks = try JWKSSource(configuration: source, logger: logger)
            } catch {
                throw HubConfigurationError(key: "jwksURL", problem: error.description)
            }
        } else {
            self.jwks = nil
        }
        self.staticTokens = staticTokens.filter { !$0.token.isEmpty }.map {
            (digest: SHA256.hash(data: Array($0.token.utf8)), principal: $0.principal)
        }
        self.now = now
    }

    /// Whether no JWT key (secret, public key, JWKS) and no static tokens are configured; every
    /// token is then refused, and dev mode decides what to do about it.
    public var isUnconfigured: Bool {
        self.fixedKeys.isEmpty && self.jwks == nil && self.staticTokens.isEmpty
    }

    /// The longest token accepted, in UTF-8 bytes.
    public var maxTokenLength: Int { self.configuration.maxTokenLength }

    /// Whether keys are fetched from a JWKS URL, so that the async
    /// ``authenticate(token:)-(String?)`` may wait where the synchronous one refuses.
    public var fetchesKeys: Bool { self.jwks?.isRemote ?? false }

    /// Validates `token` with the keys in hand: never waits for a JWKS fetch. A token naming a
    /// `kid` the JWKS lacks starts a (rate-limited) reload in the background and is refused with
    /// `"unknown key"`; the async ``authenticate(token:)-(String?)`` waits for that reload instead.
    ///
    /// A static token is looked up in constant time: the token's SHA-256 digest is compared with
    /// every configured digest, without an early exit. Anything else is checked as a JWT when a
    /// key is configured.
    ///
    /// Failures are all `.unauthorized`, with reason `"missing token"` (nil or empty),
    /// `"token too large"` (over ``maxTokenLength`` bytes), `"invalid token"` (unknown, and no JWT
    /// key), `"malformed token"`, `"unsupported algorithm"` (an `alg` the hub does not verify,
    /// `none`, or not the one pinned to the key), `"unsupported header"` (`crit`), `"unknown key"`
    /// (no key for the token's `kid`, nor a key without `kid` for its `alg`), `"invalid signature"`,
    /// `"token expired"` (`exp`), `"token not yet valid"` (`nbf`), `"invalid issuer"` (`iss`),
    /// `"invalid audience"` (`aud`), `"missing sub"`, or `"invalid claims"` (`roles`, `rooms`,
    /// `exp` or `nbf` of the wrong type). A JWT without `roles` gives a principal with no roles;
    /// unknown role names are ignored.
    public func authenticate(token: String?) -> Result<Principal, AuthFailure> {
        let unverified: JWT.Unverified
        switch self.screen(token) {
        case .decided(let result): return result
        case .jwt(let jwt): unverified = jwt
        }
        let keys = self.jwks?.current()
        switch self.lookup(unverified, in: keys) {
        case .success(let key):
            return self.finish(unverified, with: key)
        case .failure(let failure):
            if let jwks = self.jwks, let kid = unverified.kid, keys?.key(kid: kid) == nil {
                jwks.requestReloadForUnknownKey()
            }
            return .failure(failure)
        }
    }

    /// Validates `token` as ``authenticate(token:)-(String?)`` does, but waits for the first JWKS
    /// fetch, and when no key takes the token and it names a `kid` the JWKS lacks, for a reload
    /// (at most one per cooldown) before refusing it with `"unknown key"`.
    ///
    /// In an async context Swift picks this overload; ``fetchesKeys`` tells whether it can differ
    /// from the synchronous one.
    public func authenticate(token: String?) async -> Result<Principal, AuthFailure> {
        let unverified: JWT.Unverified
        switch self.screen(token) {
        case .decided(let result): return result
        case .jwt(let jwt): unverified = jwt
        }
        await self.jwks?.ready()
        var keys = self.jwks?.current()
        var found = self.lookup(unverified, in: keys)
        // No key, and the token names a kid the JWKS lacks: perhaps the provider rotated its keys.
        if case .failure = found, let jwks = self.jwks, let kid = unverified.kid, keys?.key(kid: kid) == nil {
            keys = await jwks.reloadForUnknownKey()
            found = self.lookup(unverified, in: keys)
        }
        switch found {
        case .success(let key): return self.finish(unverified, with: key)
        case .failure(let failure): return .failure(failure)
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
        guard let key = self.hmacKey else { return nil }
        let now = self.now().timeIntervalSince1970
        var claims: [(String, JSONValue)] = [
            ("sub", .string(subject)),
            ("roles", .array(roles.map(\.rawValue).sorted().map(JSONValue.string))),
        ]
        if let rooms {
            let names = rooms.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            claims.append(("rooms", .array(names.map(JSONValue.string))))
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

    private enum Screening {
        case decided(Result<Principal, AuthFailure>)
        case jwt(JWT.Unverified)
    }

    /// Missing, too large, static, or a JWT whose header and signature were read.
    private func screen(_ token: String?) -> Screening {
        guard let token, !token.isEmpty else {
            return .decided(.failure(.unauthorized(reason: "missing token")))
        }
        guard token.utf8.count <= self.configuration.maxTokenLength else {
            return .decided(.failure(.unauthorized(reason: "token too large")))
        }

        let digest = SHA256.hash(data: Array(token.utf8))
        var matched: Principal? = nil
        for entry in self.staticTokens {
            if Self.constantTimeEquals(digest, entry.digest) {
                matched = entry.principal
            }
        }
        if let matched {
            return .decided(.success(matched))
        }

        guard !self.fixedKeys.isEmpty || self.jwks != nil else {
            return .decided(.failure(.unauthorized(reason: "invalid token")))
        }
        do throws(AuthFailure) {
            return .jwt(try JWT.read(token))
        } catch {
            return .decided(.failure(error))
        }
    }

    /// The key for a token: the JWKS key its `kid` names (whose pinned `alg` must be the token's),
    /// else a key without `kid` pinned to the token's `alg`.
    private func lookup(_ token: JWT.Unverified, in jwks: JWTKeySet?) -> Result<JWTVerificationKey, AuthFailure> {
        if let kid = token.kid, let key = jwks?.key(kid: kid) {
            guard key.algorithm == token.algorithm else {
                return .failure(.unauthorized(reason: "unsupported algorithm"))
            }
            return .success(key)
        }
        let candidates = self.fixedKeys + (jwks?.keysWithoutID ?? [])
        if let key = candidates.first(where: { $0.algorithm == token.algorithm }) {
            return .success(key)
        }
        if token.kid == nil, !candidates.isEmpty {
            return .failure(.unauthorized(reason: "unsupported algorithm"))
        }
        return .failure(.unauthorized(reason: "unknown key"))
    }

    private func finish(_ token: JWT.Unverified, with key: JWTVerificationKey) -> Result<Principal, AuthFailure> {
        do throws(AuthFailure) {
            let jwt = try token.verified(with: key)
            return .success(try self.principal(from: jwt.claims))
        } catch {
            return .failure(error)
        }
    }

    /// The principal of a verified JWT's claims.
    private func principal(from claims: JSONObject) throws(AuthFailure) -> Principal {
        let now = self.now().timeIntervalSince1970
        let leeway = Double(self.configuration.leeway)
        var expiresAt: Date? = nil
        if let exp = claims["exp"], !exp.isNull {
            guard let exp = exp.doubleValue else { throw .unauthorized(reason: "invalid claims") }
            guard now < exp + leeway else { throw .unauthorized(reason: "token expired") }
            expiresAt = Date(timeIntervalSince1970: exp + leeway)
        }
        if let nbf = claims["nbf"], !nbf.isNull {
            guard let nbf = nbf.doubleValue else { throw .unauthorized(reason: "invalid claims") }
            guard now + leeway >= nbf else { throw .unauthorized(reason: "token not yet valid") }
        }
        if let issuer = self.configuration.issuer {
            guard let iss = claims["iss"]?.stringValue, ExactName(iss) == ExactName(issuer) else {
                throw .unauthorized(reason: "invalid issuer")
            }
        }
        if let audience = self.configuration.audience {
            let wanted = ExactName(audience)
            let granted: Bool
            switch claims["aud"] {
            case .string(let aud)?: granted = ExactName(aud) == wanted
            case .array(let auds)?: granted = auds.contains { $0.stringValue.map { ExactName($0) == wanted } ?? false }
            default: granted = false
            }
            guard granted else { throw .unauthorized(reason: "invalid audience") }
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

        var rooms: Set<ExactName>? = nil
        if let claim = claims["rooms"], !claim.isNull {
            guard let names = claim.arrayValue else { throw .unauthorized(reason: "invalid claims") }
            var granted = Set<ExactName>()
            for name in names {
                guard let name = name.stringValue else { throw .unauthorized(reason: "invalid claims") }
                granted.insert(ExactName(name))
            }
            rooms = granted
        }
        return Principal(subject: subject, roles: roles, rooms: rooms, expiresAt: expiresAt)
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

import Crypto
import Foundation
import Hub
import NIOHTTP1
import SocketIO
import Testing

@Suite("TokenAuthenticator")
struct TokenAuthenticatorTests {
    /// 2025-06-15T15:06:40Z, a whole second, so `exp` boundaries are exact.
    static let now = Date(timeIntervalSince1970: 1_750_000_000)
    static let secret = "a-test-secret-of-more-than-thirty-two-bytes"

    static func authenticator(
        secret: String? = Self.secret,
        tokens: [StaticToken] = [],
        at date: Date = Self.now
    ) -> TokenAuthenticator {
        TokenAuthenticator(jwtSecret: secret, staticTokens: tokens, now: { date })
    }

    /// base64url without padding, independent of the implementation under test.
    static func b64(_ text: String) -> String {
        b64(Data(text.utf8))
    }

    static func b64(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A token made by hand from raw header and payload JSON, signed with HMAC-SHA256 under
    /// `secret` (or with `signature` as given).
    static func craft(
        header: String = #"{"alg":"HS256","typ":"JWT"}"#,
        payload: String,
        secret: String = Self.secret,
        signature: String? = nil
    ) -> String {
        let input = b64(header) + "." + b64(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return input + "." + (signature ?? b64(Data(mac)))
    }

    static func failureReason(_ result: Result<Principal, AuthFailure>) -> String? {
        guard case .failure(let failure) = result else { return nil }
        #expect(failure.message == "unauthorized")
        return failure.reason
    }

    // MARK: - Valid JWTs

    @Test func issuedTokenGivesPrincipal() throws {
        let auth = Self.authenticator()
        let token = try #require(auth.issueToken(subject: "alice", roles: [.user, .monitor], rooms: ["lobby", "ops"]))
        let principal = try auth.authenticate(token: token).get()
        #expect(principal == Principal(subject: "alice", roles: [.user, .monitor], rooms: ["lobby", "ops"],
                                       expiresAt: principal.expiresAt))
        #expect(principal.expiresAt != nil, "issued tokens expire (in an hour by default): the principal knows when")
    }

    @Test func issuedTokenWithoutRoomsAllowsAnyRoom() throws {
        let auth = Self.authenticator()
        let token = try #require(auth.issueToken(subject: "svc", roles: [.service], expiresIn: nil))
        let principal = try auth.authenticate(token: token).get()
        #expect(principal.rooms == nil)
        #expect(principal.roles == [.service])
        #expect(principal.expiresAt == nil, "no exp: never expires")
    }

    @Test func pythonMadeTokenIsAccepted() throws {
        let auth = Self.authenticator(secret: try HubTestFixtures.jwtSecret())
        let token = try HubTestFixtures.text("keys/admin.jwt")
        let principal = try auth.authenticate(token: token).get()
        // "superuser" is not a hub role and is ignored.
        #expect(principal == Principal(subject: "fixture-admin", roles: [.admin, .monitor], rooms: ["ops", "alerts"],
                                       expiresAt: Date(timeIntervalSince1970: 4_102_444_800)))
        #expect(principal.mayJoin(room: "ops"))
        #expect(!principal.mayJoin(room: "lobby"))
    }

    @Test func pythonMadePaddedTokenIsAccepted() throws {
        let auth = Self.authenticator(secret: try HubTestFixtures.jwtSecret())
        let token = try HubTestFixtures.text("keys/service-padded.jwt")
        #expect(token.contains("="))
        let principal = try auth.authenticate(token: token).get()
        #expect(principal == Principal(subject: "fixture-service", roles: [.service], rooms: ["*"]))
        #expect(principal.mayJoin(room: "anything"))
    }

    @Test func pythonMadeTokenHonoursItsTimeClaims() throws {
        let secret = try HubTestFixtures.jwtSecret()
        let token = try HubTestFixtures.text("keys/admin.jwt")
        // exp is 4102444800 (2100-01-01), nbf 1700000000.
        let after = Self.authenticator(secret: secret, at: Date(timeIntervalSince1970: 4_102_444_800))
        #expect(Self.failureReason(after.authenticate(token: token)) == "token expired")
        let before = Self.authenticator(secret: secret, at: Date(timeIntervalSince1970: 1_699_999_999))
        #expect(Self.failureReason(before.authenticate(token: token)) == "token not yet valid")
    }

    @Test func pythonMadeTokenWithAnotherSecretIsRefused() throws {
        let token = try HubTestFixtures.text("keys/admin.jwt")
        #expect(Self.failureReason(Self.authenticator().authenticate(token: token)) == "invalid signature")
    }

    // MARK: - Time claims

    @Test func expiredTokenIsRefused() throws {
        let auth = Self.authenticator()
        let expired = try #require(auth.issueToken(subject: "alice", roles: [.user], expiresIn: -1))
        #expect(Self.failureReason(auth.authenticate(token: expired)) == "token expired")
        // exp == now is already expired (RFC 7519: "on or after").
        let boundary = try #require(auth.issueToken(subject: "alice", roles: [.user], expiresIn: 0))
        #expect(Self.failureReason(auth.authenticate(token: boundary)) == "token expired")
        let fresh = try #require(auth.issueToken(subject: "alice", roles: [.user], expiresIn: 1))
        #expect(throws: Never.self) { try auth.authenticate(token: fresh).get() }
    }

    @Test func tokenIsRefusedBeforeNotBefore() throws {
        let now = Int(Self.now.timeIntervalSince1970)
        let auth = Self.authenticator()
        let future = Self.craft(payload: #"{"sub":"alice","roles":["user"],"nbf":\#(now + 60)}"#)
        #expect(Self.failureReason(auth.authenticate(token: future)) == "token not yet valid")
        let current = Self.craft(payload: #"{"sub":"alice","roles":["user"],"nbf":\#(now)}"#)
        #expect(try auth.authenticate(token: current).get().subject == "alice")
    }

    // MARK: - Signature and algorithm

    @Test func wrongSignatureIsRefused() throws {
        let other = Self.authenticator(secret: "another-secret-that-is-long-enough-too")
        let token = try #require(other.issueToken(subject: "alice", roles: [.admin]))
        #expect(Self.failureReason(Self.authenticator().authenticate(token: token)) == "invalid signature")

        let good = try #require(Self.authenticator().issueToken(subject: "alice", roles: [.admin]))
        var characters = Array(good)
        let last = characters.index(before: characters.endIndex) - 1  // not the final char, whose low bits may be ignored
        characters[last] = characters[last] == "A" ? "B" : "A"
        #expect(Self.failureReason(Self.authenticator().authenticate(token: String(characters))) == "invalid signature")
    }

    @Test func tamperedPayloadIsRefused() throws {
        let auth = Self.authenticator()
        let token = try #require(auth.issueToken(subject: "alice", roles: [.user]))
        let parts = token.split(separator: ".")
        let forged = parts[0] + "." + Self.b64(#"{"sub":"alice","roles":["admin"]}"#) + "." + parts[2]
        #expect(Self.failureReason(auth.authenticate(token: forged)) == "invalid signature")
    }

    @Test func algNoneIsRefused() throws {
        let auth = Self.authenticator()
        let payload = Self.b64(#"{"sub":"mallory","roles":["admin"]}"#)
        for header in [#"{"alg":"none","typ":"JWT"}"#, #"{"alg":"None"}"#] {
            #expect(Self.failureReason(auth.authenticate(token: Self.b64(header) + "." + payload + ".")) == "unsupported algorithm")
        }
        // Even with a valid HS256 signature, the header must say HS256.
        let signed = Self.craft(header: #"{"alg":"none"}"#, payload: #"{"sub":"mallory","roles":["admin"]}"#)
        #expect(Self.failureReason(auth.authenticate(token: signed)) == "unsupported algorithm")
    }

    @Test func hs512IsRefusedEvenWhenCorrectlySigned() throws {
        let input = Self.b64(#"{"alg":"HS512","typ":"JWT"}"#) + "." + Self.b64(#"{"sub":"alice","roles":["user"]}"#)
        let mac = HMAC<SHA512>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(Self.secret.utf8)))
        let token = input + "." + Self.b64(Data(mac))
        #expect(Self.failureReason(Self.authenticator().authenticate(token: token)) == "unsupported algorithm")
    }

    @Test(arguments: [
        #"{"alg":"RS256"}"#, #"{"alg":"hs256"}"#, #"{"alg":"HS256 "}"#, #"{"typ":"JWT"}"#, #"{"alg":["HS256"]}"#,
        #"{"alg":null}"#,
    ])
    func otherAlgorithmsAreRefused(header: String) {
        let token = Self.craft(header: header, payload: #"{"sub":"alice","roles":["user"]}"#)
        #expect(Self.failureReason(Self.authenticator().authenticate(token: token)) == "unsupported algorithm")
    }

    @Test func critHeaderIsRefused() {
        let token = Self.craft(header: #"{"alg":"HS256","crit":["exp"]}"#, payload: #"{"sub":"alice"}"#)
        #expect(Self.failureReason(Self.authenticator().authenticate(token: token)) == "unsupported header")
    }

    // MARK: - Malformed

    @Test(arguments: [
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        ".e30.",
        "!!!.e30.abc",
        "eyJhbGciOiJIUzI1NiJ9..abc",
        "eyJhbGciOiJIUzI1NiJ9.e30.!!!",
        "aGVsbG8.e30.abc",  // header "hello", not JSON
        "WyJIUzI1NiJd.e30.abc",  // header ["HS256"], not an object
        "eyJhbGciOiJIUzI1NiJ9.e30.a",  // signature of impossible length
        "eyJhbGciOiJIUzI1NiJ9+.e30.abc",  // standard base64 alphabet
        "eyJhbGciOiJIUzI1NiJ9===.e30.abc",  // too much padding
    ])
    func malformedTokensAreRefused(token: String) {
        #expect(Self.failureReason(Self.authenticator().authenticate(token: token)) == "malformed token")
    }

    @Test func signedPayloadThatIsNotAnObjectIsMalformed() {
        for payload in ["not json", "[1,2]", #""sub""#, "{\"sub\":\"a\""] {
            let token = Self.craft(payload: payload)
            #expect(Self.failureReason(Self.authenticator().authenticate(token: token)) == "malformed token")
        }
    }

    @Test func tooLongTokenIsRefused() {
        let huge = String(repeating: "a", count: 10_000) + "." + "e30" + "." + "abc"
        #expect(Self.failureReason(Self.authenticator().authenticate(token: huge)) == "malformed token")
        #expect(Self.failureReason(Self.authenticator(secret: nil).authenticate(token: huge)) == "invalid token")
    }

    // MARK: - Claims

    @Test(arguments: [
        #"{"roles":["admin"]}"#, #"{"sub":"","roles":["admin"]}"#, #"{"sub":42,"roles":["admin"]}"#,
        #"{"sub":null}"#,
    ])
    func missingSubIsRefused(payload: String) {
        #expect(Self.failureReason(Self.authenticator().authenticate(token: Self.craft(payload: payload))) == "missing sub")
    }

    @Test func unknownRolesAreIgnored() throws {
        let token = Self.craft(payload: #"{"sub":"alice","roles":["admin","wizard","ADMIN"]}"#)
        #expect(try Self.authenticator().authenticate(token: token).get().roles == [.admin])
    }

    @Test(arguments: [#"{"sub":"alice"}"#, #"{"sub":"alice","roles":[]}"#, #"{"sub":"alice","roles":["root"]}"#])
    func tokenWithoutKnownRolesGivesPrincipalWithNoRoles(payload: String) throws {
        let principal = try Self.authenticator().authenticate(token: Self.craft(payload: payload)).get()
        #expect(principal == Principal(subject: "alice", roles: []))
        #expect(!principal.hasAny(of: Set(Role.allCases)))
    }

    @Test(arguments: [
        #"{"sub":"alice","roles":"admin"}"#, #"{"sub":"alice","roles":[1]}"#, #"{"sub":"alice","rooms":"lobby"}"#,
        #"{"sub":"alice","rooms":["lobby",2]}"#, #"{"sub":"alice","exp":"tomorrow"}"#, #"{"sub":"alice","nbf":true}"#,
    ])
    func claimsOfTheWrongTypeAreRefused(payload: String) {
        #expect(Self.failureReason(Self.authenticator().authenticate(token: Self.craft(payload: payload))) == "invalid claims")
    }

    @Test func wildcardRoomsClaim() throws {
        let token = Self.craft(payload: #"{"sub":"alice","roles":["user"],"rooms":["*"]}"#)
        let principal = try Self.authenticator().authenticate(token: token).get()
        #expect(principal.rooms == ["*"])
        #expect(principal.mayJoin(room: "any-room"))
    }

    // MARK: - Static tokens

    static let staticToken = StaticToken(
        token: "s3cr3t-static-token-0123456789", user: "dashboard", roles: [.monitor], rooms: ["ops"])

    @Test func staticTokenIsAccepted() throws {
        let auth = Self.authenticator(secret: nil, tokens: [
            StaticToken(token: "first-token-aaaaaaaaaaaaaaa", user: "first", roles: [.user]),
            Self.staticToken,
            StaticToken(token: "third-token-ccccccccccccccc", user: "third", roles: [.admin, .service]),
        ])
        #expect(try auth.authenticate(token: Self.staticToken.token).get()
            == Principal(subject: "dashboard", roles: [.monitor], rooms: ["ops"]))
        #expect(try auth.authenticate(token: "first-token-aaaaaaaaaaaaaaa").get()
            == Principal(subject: "first", roles: [.user], rooms: nil))
        #expect(try auth.authenticate(token: "third-token-ccccccccccccccc").get().roles == [.admin, .service])
    }

    @Test func nearMissStaticTokensAreRefused() {
        let auth = Self.authenticator(secret: nil, tokens: [Self.staticToken])
        let token = Self.staticToken.token
        let nearMisses = [
            String(token.dropLast()) + "8",
            String(token.dropLast()),
            token + "9",
            "x" + token.dropFirst(),
            token.uppercased(),
            " " + token,
        ]
        for candidate in nearMisses {
            #expect(Self.failureReason(auth.authenticate(token: candidate)) == "invalid token")
        }
    }

    @Test func staticTokensAndJWTWorkTogether() throws {
        let auth = Self.authenticator(tokens: [Self.staticToken])
        #expect(try auth.authenticate(token: Self.staticToken.token).get().subject == "dashboard")
        let jwt = try #require(auth.issueToken(subject: "alice", roles: [.user]))
        #expect(try auth.authenticate(token: jwt).get().subject == "alice")
        // With a secret, an unknown non-JWT string is judged as a JWT.
        #expect(Self.failureReason(auth.authenticate(token: "not-a-known-token")) == "malformed token")
    }

    @Test func staticTokenDescriptionHidesTheSecret() {
        #expect(!"\(Self.staticToken)".contains(Self.staticToken.token))
        #expect(!String(reflecting: Self.staticToken).contains(Self.staticToken.token))
        #expect("\(Self.staticToken)".contains("dashboard"))
    }

    // MARK: - Missing, unconfigured, issuing

    @Test func missingTokenIsRefused() {
        let auth = Self.authenticator(tokens: [Self.staticToken])
        #expect(Self.failureReason(auth.authenticate(token: nil)) == "missing token")
        #expect(Self.failureReason(auth.authenticate(token: "")) == "missing token")
    }

    @Test func unconfiguredAuthenticator() {
        #expect(Self.authenticator(secret: nil).isUnconfigured)
        #expect(Self.authenticator(secret: "").isUnconfigured)
        #expect(Self.authenticator(secret: nil, tokens: [StaticToken(token: "", user: "x", roles: [])]).isUnconfigured)
        #expect(!Self.authenticator().isUnconfigured)
        #expect(!Self.authenticator(secret: nil, tokens: [Self.staticToken]).isUnconfigured)
        #expect(Self.failureReason(Self.authenticator(secret: nil).authenticate(token: "anything")) == "invalid token")
    }

    @Test func issuingNeedsASecret() {
        #expect(Self.authenticator(secret: nil, tokens: [Self.staticToken]).issueToken(subject: "a", roles: [.admin]) == nil)
    }

    @Test func issuedTokenIsAStandardHS256JWT() throws {
        let token = try #require(Self.authenticator().issueToken(subject: "alice", roles: [.user], expiresIn: 60))
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        #expect(!token.contains("="))
        // Verified independently of the implementation: HMAC-SHA256 over the first two parts.
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data((parts[0] + "." + parts[1]).utf8), using: SymmetricKey(data: Data(Self.secret.utf8)))
        #expect(String(parts[2]) == Self.b64(Data(mac)))
        func decode(_ part: Substring) throws -> JSONValue {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            let data = try #require(Data(base64Encoded: text))
            return try JSONValue.parse(String(decoding: data, as: UTF8.self))
        }
        #expect(try decode(parts[0])["alg"] == "HS256")
        let claims = try decode(parts[1])
        #expect(claims["sub"] == "alice")
        #expect(claims["roles"] == ["user"])
        #expect(claims["iat"] == 1_750_000_000)
        #expect(claims["exp"] == 1_750_000_060)
        #expect(claims["rooms"] == nil)
    }

    // MARK: - Failures never carry the token

    @Test func failuresNeverContainTheToken() throws {
        let auth = Self.authenticator(tokens: [Self.staticToken])
        let expired = try #require(auth.issueToken(subject: "alice", roles: [.user], expiresIn: -10))
        let candidates = [
            "definitely-not-a-valid-token", expired, expired + "x",
            Self.craft(header: #"{"alg":"none"}"#, payload: #"{"sub":"x"}"#),
            Self.craft(payload: #"{"roles":["admin"]}"#),
        ]
        for token in candidates {
            guard case .failure(let failure) = auth.authenticate(token: token) else {
                Issue.record("expected a failure")
                continue
            }
            #expect(!failure.reason.contains(token))
            #expect(!"\(failure)".contains(token))
            #expect(!String(reflecting: failure).contains(token))
        }
    }

    @Test func authFailureMessageAndReason() {
        #expect(AuthFailure.unauthorized(reason: "token expired").message == "unauthorized")
        #expect(AuthFailure.unauthorized(reason: "token expired").reason == "token expired")
        #expect(AuthFailure.forbidden(reason: "admin role required").message == "forbidden")
        #expect(AuthFailure.forbidden(reason: "admin role required").reason == "admin role required")
    }

    // MARK: - Where tokens come from

    @Test(arguments: [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer    abc   ", "abc"),
        ("Bearer\tabc", "abc"),
        ("Basic YWxhZGRpbjpvcGVuc2VzYW1l", nil),
        ("Bearer", nil),
        ("Bearer   ", nil),
        ("Bearer a b", nil),
        ("Bearerabc", nil),
        ("", nil),
    ] as [(String, String?)])
    func bearerHeader(value: String, expected: String?) {
        #expect(TokenAuthenticator.bearerToken(from: HTTPHeaders([("Authorization", value)])) == expected)
    }

    @Test func bearerHeaderNameIsCaseInsensitiveAndOptional() {
        #expect(TokenAuthenticator.bearerToken(from: HTTPHeaders([("authorization", "Bearer t1")])) == "t1")
        #expect(TokenAuthenticator.bearerToken(from: HTTPHeaders([("Host", "example.com")])) == nil)
        #expect(TokenAuthenticator.bearerToken(from: HTTPHeaders()) == nil)
        // The first Bearer value wins when a client sends several Authorization headers.
        let several = HTTPHeaders([("Authorization", "Basic abc"), ("Authorization", "Bearer t2")])
        #expect(TokenAuthenticator.bearerToken(from: several) == "t2")
    }

    @Test(arguments: [
        (["token": "x"], "x"),
        (["token": "x", "other": 1], "x"),
        ([:], nil),
        (["token": ""], nil),
        (["token": 5], nil),
        (["token": nil], nil),
        (["tokens": "x"], nil),
        ("x", nil),
        (["x"], nil),
        (nil, nil),
    ] as [(JSONValue, String?)])
    func tokenFromConnectPayload(auth: JSONValue, expected: String?) {
        #expect(TokenAuthenticator.token(fromAuth: auth) == expected)
    }
}

// MARK: - Exact room grants

extension TokenAuthenticatorTests {
    @Test(arguments: ChannelPolicyTests.lookalikes)
    func jwtRoomGrantsAreExact(granted: String, lookalike: String) throws {
        let auth = Self.authenticator()
        for (grant, asked) in [(granted, lookalike), (lookalike, granted)] {
            let claims = JSONValue.object(["sub": "alice", "roles": ["user"], "rooms": .array([.string(grant)])]).jsonString
            let principal = try auth.authenticate(token: Self.craft(payload: claims)).get()
            #expect(principal.rooms == [ExactName(grant)])
            #expect(principal.mayJoin(room: grant))
            #expect(!principal.mayJoin(room: asked))
        }
    }

    @Test func lookalikeGrantsStayDistinct() throws {
        let auth = Self.authenticator()
        let token = Self.craft(payload: #"{"sub":"a","rooms":["Kelvin","\u212Aelvin","caf\u00e9","cafe\u0301"]}"#)
        let principal = try auth.authenticate(token: token).get()
        #expect(principal.rooms?.count == 4)
    }

    @Test func tokenOverTheCapIsTooLarge() {
        let auth = Self.authenticator()
        let huge = String(repeating: "a", count: TokenAuthenticator.defaultMaxTokenLength + 1)
        #expect(Self.failureReason(auth.authenticate(token: huge)) == "token too large")
        #expect(auth.maxTokenLength == 12_288)
    }
}

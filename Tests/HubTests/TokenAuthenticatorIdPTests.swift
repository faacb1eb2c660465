import Crypto
import CryptoExtras
import EngineIO
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SocketIO
import Testing

@testable import Hub

/// Tokens from an identity provider: RS/PS/ES/EdDSA keys generated here (no private key is
/// committed), from a PEM public key or a JWKS (file or http:// URL), `kid` selection, `alg`
/// pinning, `iss`/`aud`, leeway, the size cap, and reloading the JWKS for an unknown `kid`.
@Suite("TokenAuthenticator with an identity provider")
struct TokenAuthenticatorIdPTests {
    static let now = TokenAuthenticatorTests.now
    static func b64(_ text: String) -> String { TokenAuthenticatorTests.b64(text) }
    static func b64(_ data: Data) -> String { TokenAuthenticatorTests.b64(data) }

    /// A signing key made for the test, with its public half as a JWK and as PEM.
    struct TestKey: Sendable {
        var algorithm: String
        var kid: String?
        var jwk: JSONValue
        var pem: String
        let sign: @Sendable ([UInt8]) throws -> Data

        static func rsa(_ algorithm: String = "RS256", kid: String? = "rsa-1", jwkAlg: String?? = .none) throws -> TestKey {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let primitives = try key.publicKey.getKeyPrimitives()
            var jwk: JSONObject = ["kty": "RSA", "n": .string(b64(primitives.modulus)), "e": .string(b64(primitives.publicExponent))]
            if let kid { jwk["kid"] = .string(kid) }
            if case .some(let alg) = jwkAlg { if let alg { jwk["alg"] = .string(alg) } } else { jwk["alg"] = .string(algorithm) }
            return TestKey(algorithm: algorithm, kid: kid, jwk: .object(jwk), pem: key.publicKey.pemRepresentation) { input in
                switch algorithm {
                case "RS384": try key.signature(for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation
                case "RS512": try key.signature(for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation
                case "PS256": try key.signature(for: SHA256.hash(data: input), padding: .PSS).rawRepresentation
                default: try key.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation
                }
            }
        }

        static func es256(kid: String? = "ec-1") -> TestKey {
            let key = P256.Signing.PrivateKey()
            let point = key.publicKey.x963Representation.dropFirst()
            var jwk: JSONObject = ["kty": "EC", "crv": "P-256", "alg": "ES256",
                                   "x": .string(b64(Data(point.prefix(32)))), "y": .string(b64(Data(point.suffix(32))))]
            if let kid { jwk["kid"] = .string(kid) }
            return TestKey(algorithm: "ES256", kid: kid, jwk: .object(jwk), pem: key.publicKey.pemRepresentation) { input in
                try key.signature(for: input).rawRepresentation
            }
        }

        static func ed25519(kid: String? = "ed-1") -> TestKey {
            let key = Curve25519.Signing.PrivateKey()
            let raw = key.publicKey.rawRepresentation
            var jwk: JSONObject = ["kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": .string(b64(raw))]
            if let kid { jwk["kid"] = .string(kid) }
            // SubjectPublicKeyInfo for Ed25519 (RFC 8410): a fixed 12-byte prefix, then the key.
            let spki = Data([0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]) + raw
            let pem = "-----BEGIN PUBLIC KEY-----\n\(spki.base64EncodedString())\n-----END PUBLIC KEY-----"
            return TestKey(algorithm: "EdDSA", kid: kid, jwk: .object(jwk), pem: pem) { input in
                try key.signature(for: input)
            }
        }

        /// A token with `claims`, a header naming this key's `kid` and `alg` (or the given ones).
        func token(_ claims: String = #"{"sub":"idp-user","roles":["user"],"rooms":["lobby"]}"#,
                   alg: String? = nil, kid: String?? = .none) throws -> String {
            var header: JSONObject = ["alg": .string(alg ?? self.algorithm), "typ": "JWT"]
            switch kid {
            case .none: if let own = self.kid { header["kid"] = .string(own) }
            case .some(let given): if let given { header["kid"] = .string(given) }
            }
            let input = b64(JSONValue.object(header).jsonString) + "." + b64(claims)
            return input + "." + b64(try self.sign(Array(input.utf8)))
        }
    }

    static func jwks(_ keys: [TestKey]) -> String {
        JSONValue.object(["keys": .array(keys.map(\.jwk))]).jsonString
    }

    static func writeTemporary(_ text: String, suffix: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hub-idp-\(UUID().uuidString)\(suffix)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    static func authenticator(_ change: (inout TokenAuthenticator.Configuration) -> Void) throws -> TokenAuthenticator {
        var configuration = TokenAuthenticator.Configuration()
        change(&configuration)
        return try TokenAuthenticator(configuration: configuration, staticTokens: [], now: { Self.now })
    }

    /// The synchronous check (what `/stream` uses), which an async test cannot call directly:
    /// in an async context the async overload wins.
    static func withKeysInHand(_ auth: TokenAuthenticator, _ token: String) -> Result<Principal, AuthFailure> {
        auth.authenticate(token: token)
    }

    static func reason(_ result: Result<Principal, AuthFailure>) -> String? {
        TokenAuthenticatorTests.failureReason(result)
    }

    // MARK: - PEM public key

    @Test(arguments: ["RS256", "RS384", "RS512", "PS256"])
    func rsaPEMKeyVerifiesItsPinnedAlgorithm(algorithm: String) throws {
        let key = try TestKey.rsa(algorithm, kid: nil)
        let auth = try Self.authenticator {
            $0.publicKeyPEM = key.pem
            $0.keyAlgorithm = JWTSigningAlgorithm(rawValue: algorithm)
        }
        let principal = try auth.authenticate(token: key.token()).get()
        #expect(principal == Principal(subject: "idp-user", roles: [.user], rooms: ["lobby"]))
        // The key is pinned: the same key under another RSA alg is refused.
        let other = algorithm == "RS256" ? "RS512" : "RS256"
        #expect(Self.reason(auth.authenticate(token: try key.token(alg: other))) == "unsupported algorithm")
    }

    @Test func pemKeyAlgorithmIsInferredFromTheKey() throws {
        for key in [try TestKey.rsa(kid: nil), TestKey.es256(kid: nil), TestKey.ed25519(kid: nil)] {
            let auth = try Self.authenticator { $0.publicKeyPEM = key.pem }
            #expect(try auth.authenticate(token: key.token()).get().subject == "idp-user", "\(key.algorithm)")
            #expect(!auth.isUnconfigured)
            #expect(auth.issueToken(subject: "x", roles: []) == nil)
        }
    }

    @Test func tokenSignedByAnotherKeyIsRefused() throws {
        let key = TestKey.es256(kid: nil)
        let auth = try Self.authenticator { $0.publicKeyPEM = key.pem }
        #expect(Self.reason(auth.authenticate(token: try TestKey.es256(kid: nil).token())) == "invalid signature")
        // Tampered payload.
        let parts = try key.token().split(separator: ".")
        let forged = parts[0] + "." + Self.b64(#"{"sub":"idp-user","roles":["admin"]}"#) + "." + parts[2]
        #expect(Self.reason(auth.authenticate(token: forged)) == "invalid signature")
    }

    @Test func pemKeyOfTheWrongTypeForTheAlgorithmIsAConfigurationError() throws {
        let key = TestKey.es256(kid: nil)
        #expect(throws: HubConfigurationError.self) {
            _ = try Self.authenticator {
                $0.publicKeyPEM = key.pem
                $0.keyAlgorithm = .rs256
            }
        }
        #expect(throws: HubConfigurationError.self) {
            _ = try Self.authenticator { $0.publicKeyPEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }
        }
    }

    @Test func hmacTokensAreRefusedByAPublicKeyOnlyHub() throws {
        // The classic confusion: an HS256 token "signed" with the public key's text.
        let key = try TestKey.rsa(kid: nil)
        let auth = try Self.authenticator { $0.publicKeyPEM = key.pem }
        let confused = TokenAuthenticatorTests.craft(payload: #"{"sub":"mallory","roles":["admin"]}"#, secret: key.pem)
        #expect(Self.reason(auth.authenticate(token: confused)) == "unsupported algorithm")
        let none = Self.b64(#"{"alg":"none"}"#) + "." + Self.b64(#"{"sub":"mallory"}"#) + "."
        #expect(Self.reason(auth.authenticate(token: none)) == "unsupported algorithm")
    }

    // MARK: - JWKS file

    @Test func jwksFileKeysAreSelectedByKid() throws {
        let rsa = try TestKey.rsa()
        let ec = TestKey.es256()
        let ed = TestKey.ed25519()
        let path = try Self.writeTemporary(Self.jwks([rsa, ec, ed]), suffix: ".json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let auth = try Self.authenticator { $0.jwks = path }
        for key in [rsa, ec, ed] {
            #expect(try auth.authenticate(token: key.token()).get().subject == "idp-user", "\(key.algorithm)")
        }
        // A kid that names another key: the pinned alg of that key does not match.
        #expect(Self.reason(auth.authenticate(token: try ec.token(kid: "rsa-1"))) == "unsupported algorithm")
        // The right alg but the other key's kid: that key's signature check fails.
        let rsa2 = try TestKey.rsa(kid: "rsa-1")
        #expect(Self.reason(auth.authenticate(token: try rsa2.token())) == "invalid signature")
        // No such kid, and no kid at all (no key without a kid is configured).
        #expect(Self.reason(auth.authenticate(token: try ec.token(kid: "nope"))) == "unknown key")
        #expect(Self.reason(auth.authenticate(token: try ec.token(kid: .some(nil)))) == "unknown key")
    }

    @Test func jwksKeyWithoutAlgUsesTheConfiguredOne() throws {
        let key = try TestKey.rsa("PS256", kid: "k", jwkAlg: .some(nil))
        let path = try Self.writeTemporary(Self.jwks([key]), suffix: ".json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pinned = try Self.authenticator {
            $0.jwks = path
            $0.keyAlgorithm = .ps256
        }
        #expect(try pinned.authenticate(token: key.token()).get().subject == "idp-user")
        // Without a configured alg an RSA key defaults to RS256, so a PS256 token is refused.
        let inferred = try Self.authenticator { $0.jwks = path }
        #expect(Self.reason(inferred.authenticate(token: try key.token())) == "unsupported algorithm")
    }

    @Test func unusableJWKSEntriesAreSkippedAndTheSetIsBounded() async throws {
        let good = TestKey.es256(kid: "good")
        var entries: [JSONValue] = [
            ["kty": "oct", "k": "c2VjcmV0", "kid": "hmac"],
            ["kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"],
            ["kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"],
            ["kty": "RSA", "kid": "ps384", "alg": "PS384", "n": "AQAB", "e": "AQAB"],
            "not an object",
            good.jwk,
        ]
        for index in 0..<40 { entries.append(TestKey.ed25519(kid: "filler-\(index)").jwk) }
        let set = try await JWTKeySet.parse(Data(JSONValue.object(["keys": .array(entries)]).jsonString.utf8), defaultAlgorithm: nil)
        #expect(set.keys.count == JWTKeySet.maxKeys)
        #expect(set.key(kid: "good") != nil)
        #expect(set.key(kid: "hmac") == nil)
        #expect(set.skipped == entries.count - JWTKeySet.maxKeys)
    }

    @Test func invalidJWKSFileIsAConfigurationError() throws {
        let path = try Self.writeTemporary(#"{"no":"keys"}"#, suffix: ".json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: HubConfigurationError.self) { _ = try Self.authenticator { $0.jwks = path } }
        #expect(error.key == "jwksURL")
        #expect(throws: HubConfigurationError.self) { _ = try Self.authenticator { $0.jwks = path + ".missing" } }
    }

    @Test func committedJWKSFixtureLoads() throws {
        let auth = try Self.authenticator { $0.jwks = HubTestFixtures.url("keys/idp-jwks.json").path }
        #expect(!auth.isUnconfigured)
        #expect(Self.reason(auth.authenticate(token: try TestKey.rsa(kid: "fixture-rsa").token())) == "invalid signature")
    }

    // MARK: - Claims: iss, aud, leeway

    @Test func issuerAndAudienceAreChecked() throws {
        let key = TestKey.ed25519(kid: nil)
        let auth = try Self.authenticator {
            $0.publicKeyPEM = key.pem
            $0.issuer = "https://idp.example/"
            $0.audience = "hub"
        }
        let ok = [#"{"sub":"a","iss":"https://idp.example/","aud":"hub"}"#,
                  #"{"sub":"a","iss":"https://idp.example/","aud":["other","hub"]}"#]
        for claims in ok {
            #expect(try auth.authenticate(token: key.token(claims)).get().subject == "a", "\(claims)")
        }
        let badIssuer = [#"{"sub":"a","aud":"hub"}"#, #"{"sub":"a","iss":"https://idp.example","aud":"hub"}"#,
                         #"{"sub":"a","iss":["https://idp.example/"],"aud":"hub"}"#]
        for claims in badIssuer {
            #expect(Self.reason(auth.authenticate(token: try key.token(claims))) == "invalid issuer", "\(claims)")
        }
        let badAudience = [#"{"sub":"a","iss":"https://idp.example/"}"#, #"{"sub":"a","iss":"https://idp.example/","aud":"Hub"}"#,
                           #"{"sub":"a","iss":"https://idp.example/","aud":[]}"#, #"{"sub":"a","iss":"https://idp.example/","aud":[1]}"#]
        for claims in badAudience {
            #expect(Self.reason(auth.authenticate(token: try key.token(claims))) == "invalid audience", "\(claims)")
        }
    }

    @Test func leewayWidensExpAndNbf() throws {
        let key = TestKey.es256(kid: nil)
        let now = Int(Self.now.timeIntervalSince1970)
        let expired = try key.token(#"{"sub":"a","exp":\#(now - 30)}"#)
        let early = try key.token(#"{"sub":"a","nbf":\#(now + 30)}"#)
        let strict = try Self.authenticator { $0.publicKeyPEM = key.pem }
        #expect(Self.reason(strict.authenticate(token: expired)) == "token expired")
        #expect(Self.reason(strict.authenticate(token: early)) == "token not yet valid")
        let lenient = try Self.authenticator {
            $0.publicKeyPEM = key.pem
            $0.leeway = 60
        }
        #expect(try lenient.authenticate(token: expired).get().subject == "a")
        #expect(try lenient.authenticate(token: early).get().subject == "a")
        #expect(Self.reason(lenient.authenticate(token: try key.token(#"{"sub":"a","exp":\#(now - 60)}"#))) == "token expired")
    }

    // MARK: - Size cap

    @Test func tokenSizeCapIsConfigurable() throws {
        let key = try TestKey.rsa(kid: nil)
        let groups = (0..<300).map { "\"group-with-a-longish-name-\($0)\"" }.joined(separator: ",")
        let big = try key.token(#"{"sub":"a","groups":[\#(groups)]}"#)
        #expect(big.utf8.count > 8192 && big.utf8.count < 16_384)
        let small = try Self.authenticator {
            $0.publicKeyPEM = key.pem
            $0.maxTokenLength = 8192
        }
        #expect(Self.reason(small.authenticate(token: big)) == "token too large")
        let large = try Self.authenticator {
            $0.publicKeyPEM = key.pem
            $0.maxTokenLength = 16_384
        }
        #expect(try large.authenticate(token: big).get().subject == "a")
    }

    // MARK: - JWKS over HTTP

    @Test func jwksURLIsFetchedAndReloadedForAnUnknownKid() async throws {
        let first = try TestKey.rsa(kid: "first")
        let second = TestKey.es256(kid: "second")
        let server = try await JWKSTestServer.start(body: Self.jwks([first]))
        defer { server.stop() }
        let auth = try Self.authenticator {
            $0.jwks = server.url
            $0.jwksRefetchCooldown = .zero
        }
        #expect(auth.fetchesKeys)
        #expect(try await auth.authenticate(token: first.token()).get().subject == "idp-user")
        #expect(server.requests == 1)
        // The synchronous path has the cached key too.
        let sync = Self.withKeysInHand(auth, try first.token())
        #expect(try sync.get().subject == "idp-user")

        // Rotation: the provider adds a key; a token naming it makes the hub reload once.
        server.body = Self.jwks([first, second])
        #expect(try await auth.authenticate(token: second.token()).get().subject == "idp-user")
        #expect(server.requests == 2)
        #expect(Self.reason(await auth.authenticate(token: try second.token(kid: "third"))) == "unknown key")
        #expect(server.requests == 3)
    }

    @Test func secretTakesHS256TokensWithAnyKidWithoutAFetch() async throws {
        let key = TestKey.es256(kid: "idp")
        let server = try await JWKSTestServer.start(body: Self.jwks([key]))
        defer { server.stop() }
        let auth = try Self.authenticator {
            $0.jwks = server.url
            $0.jwtSecret = TokenAuthenticatorTests.secret
            $0.jwksRefetchCooldown = .zero
        }
        let hs256 = TokenAuthenticatorTests.craft(header: #"{"alg":"HS256","kid":"backend-2024"}"#, payload: #"{"sub":"svc"}"#)
        #expect(try await auth.authenticate(token: hs256).get().subject == "svc")
        #expect(try await auth.authenticate(token: key.token()).get().subject == "idp-user")
        #expect(server.requests == 1)
        // An ES256 token naming the HS256 key's "kid" finds no key for ES256 either way.
        #expect(Self.reason(await auth.authenticate(token: try key.token(kid: "backend-2024"))) == "unknown key")
        #expect(server.requests == 2)
    }

    @Test func unknownKidReloadsAreRateLimited() async throws {
        let key = TestKey.ed25519(kid: "only")
        let server = try await JWKSTestServer.start(body: Self.jwks([key]))
        defer { server.stop() }
        let auth = try Self.authenticator { $0.jwks = server.url }  // cooldown 10 s
        #expect(try await auth.authenticate(token: key.token()).get().subject == "idp-user")
        for index in 0..<5 {
            #expect(Self.reason(await auth.authenticate(token: try key.token(kid: "made-up-\(index)"))) == "unknown key")
            let sync = Self.withKeysInHand(auth, try key.token(kid: "made-up-\(index)"))
            #expect(Self.reason(sync) == "unknown key")
        }
        #expect(server.requests == 1)
    }

    @Test func failedFetchKeepsTheKeysInHand() async throws {
        let key = TestKey.es256(kid: "k")
        let server = try await JWKSTestServer.start(body: Self.jwks([key]))
        defer { server.stop() }
        let auth = try Self.authenticator {
            $0.jwks = server.url
            $0.jwksRefetchCooldown = .zero
            $0.jwksRefreshInterval = .zero
        }
        #expect(try await auth.authenticate(token: key.token()).get().subject == "idp-user")
        server.status = .internalServerError
        #expect(Self.reason(await auth.authenticate(token: try key.token(kid: "other"))) == "unknown key")
        #expect(try await auth.authenticate(token: key.token()).get().subject == "idp-user")
        #expect(server.requests >= 2)
    }

    @Test func staleKeysAreReloadedOnSchedule() async throws {
        let kept = TestKey.es256(kid: "kept")
        let dropped = TestKey.ed25519(kid: "dropped")
        let server = try await JWKSTestServer.start(body: Self.jwks([kept, dropped]))
        defer { server.stop() }
        let auth = try Self.authenticator {
            $0.jwks = server.url
            $0.jwksRefreshInterval = .milliseconds(50)
            $0.jwksRefetchCooldown = .zero
        }
        #expect(try await auth.authenticate(token: dropped.token()).get().subject == "idp-user")
        // The provider retires a key: once the keys are stale, use reloads them in the background.
        server.body = Self.jwks([kept])
        var reason: String? = nil
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(60))
            _ = Self.withKeysInHand(auth, try kept.token())  // use, which starts the reload
            reason = Self.reason(Self.withKeysInHand(auth, try dropped.token()))
            if reason != nil { break }
        }
        #expect(reason == "unknown key")
        #expect(try await auth.authenticate(token: kept.token()).get().subject == "idp-user")
    }

    @Test func unreachableJWKSRefusesWithUnknownKey() async throws {
        let key = TestKey.es256(kid: "k")
        // Port 9 (discard) on loopback: nothing listens there.
        let auth = try Self.authenticator { $0.jwks = "http://127.0.0.1:9/jwks.json" }
        #expect(Self.reason(await auth.authenticate(token: try key.token())) == "unknown key")
    }
}

/// A one-route HTTP server on 127.0.0.1 answering every request with a JWKS body (the project's
/// own HTTPServer, with an endpoint that counts requests).
final class JWKSTestServer: Sendable {
    private struct State {
        var body: String
        var status: HTTPResponseStatus = .ok
        var requests = 0
    }

    private struct Endpoint: HTTPEndpoint {
        let state: NIOLockedValueBox<State>
        func matches(path: String) -> Bool { true }
        var maxRequestBodySize: Int { 0 }
        func handle(_ request: HTTPServerRequest, sink: HTTPResponseSink) {
            let (body, status) = self.state.withLockedValue { state in
                state.requests += 1
                return (state.body, state.status)
            }
            sink.send(status == .ok ? .json(.ok, body) : .text(status, "error"))
        }
    }

    private let state: NIOLockedValueBox<State>
    private let server: HTTPServer
    let url: String

    private init(state: NIOLockedValueBox<State>, server: HTTPServer, port: Int) {
        self.state = state
        self.server = server
        self.url = "http://127.0.0.1:\(port)/.well-known/jwks.json"
    }

    static func start(body: String) async throws -> JWKSTestServer {
        let state = NIOLockedValueBox(State(body: body))
        var logger = Logger(label: "jwks-test-server")
        logger.logLevel = .critical
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), endpoints: [Endpoint(state: state)],
                                group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let address = try await server.start()
        return JWKSTestServer(state: state, server: server, port: address.port ?? 0)
    }

    var body: String {
        get { self.state.withLockedValue { $0.body } }
        set { self.state.withLockedValue { $0.body = newValue } }
    }

    var status: HTTPResponseStatus {
        get { self.state.withLockedValue { $0.status } }
        set { self.state.withLockedValue { $0.status = newValue } }
    }

    var requests: Int { self.state.withLockedValue { $0.requests } }

    func stop() {
        let server = self.server
        Task { await server.stopAccepting() }
    }
}

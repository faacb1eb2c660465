import Crypto
import Foundation
import SocketIO
import Testing

@testable import Hub

@Suite("JWT and base64url")
struct JWTTests {
    static let key = SymmetricKey(data: Data("a-test-secret-of-more-than-thirty-two-bytes".utf8))

    // MARK: - Base64URL

    @Test func base64URLMatchesFoundationWithTheURLAlphabet() {
        // Every length 0...9 (all padding cases), with bytes that map to "+" and "/" in standard base64.
        for length in 0...9 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: 0xFB + $0 * 37) }
            let standard = Data(bytes).base64EncodedString()
            let expected = standard.replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == expected)
            #expect(Base64URL.decode(encoded[...]) == Data(bytes))
            // The padded form decodes to the same bytes.
            let padded = encoded + String(repeating: "=", count: (4 - encoded.count % 4) % 4)
            #expect(Base64URL.decode(padded[...]) == Data(bytes))
        }
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
    }

    @Test(arguments: ["+_8", "/w", "ab c", "a", "abcde", "QQ===", "QQ=", "Q=Q=", "=QQ", "QQ==QQ==", "é"])
    func base64URLRefusesInvalidText(text: String) {
        #expect(Base64URL.decode(text[...]) == nil)
    }

    // MARK: - JWT

    @Test func signThenVerifyGivesTheClaimsBack() throws {
        let claims: JSONObject = ["sub": "alice", "roles": ["user"], "n": 1.5]
        let token = JWT.sign(claims: claims, key: Self.key)
        let jwt = try JWT.verify(token, key: Self.key)
        #expect(jwt.claims == claims)
        #expect(jwt.header["alg"] == "HS256")
        #expect(jwt.header["typ"] == "JWT")
    }

    @Test func verifyChecksTheSignatureBeforeReadingThePayload() throws {
        // A payload that is not JSON, unsigned: the signature is the failure reported.
        let header = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8))
        let token = header + "." + Base64URL.encode(Array("not json".utf8)) + "." + Base64URL.encode([UInt8](repeating: 0, count: 32))
        #expect(throws: AuthFailure.unauthorized(reason: "invalid signature")) { try JWT.verify(token, key: Self.key) }
    }

    @Test func verifyAcceptsThePythonMadeFixtures() throws {
        let key = SymmetricKey(data: Data(try HubTestFixtures.jwtSecret().utf8))
        let admin = try JWT.verify(try HubTestFixtures.text("keys/admin.jwt"), key: key)
        #expect(admin.header["typ"] == "JWT")
        #expect(admin.claims["sub"] == "fixture-admin")
        #expect(admin.claims["exp"] == 4_102_444_800)
        let service = try JWT.verify(try HubTestFixtures.text("keys/service-padded.jwt"), key: key)
        #expect(service.claims["rooms"] == ["*"])
    }

    @Test func signatureCoversTheReceivedTextNotTheDecodedBytes() throws {
        // The padded fixture was signed over its padded parts; stripping the padding changes the
        // signing input, so the stripped token must not verify.
        let key = SymmetricKey(data: Data(try HubTestFixtures.jwtSecret().utf8))
        let padded = try HubTestFixtures.text("keys/service-padded.jwt")
        let parts = padded.split(separator: ".")
        let stripped = parts.map { $0.replacingOccurrences(of: "=", with: "") }.joined(separator: ".")
        #expect(throws: AuthFailure.unauthorized(reason: "invalid signature")) { try JWT.verify(stripped, key: key) }
    }
}

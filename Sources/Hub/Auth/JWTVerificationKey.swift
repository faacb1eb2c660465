import Foundation
import JWTKit

/// One key that verifies JWTs: its key id, the one algorithm it accepts, and jwt-kit's verifier.
///
/// Made from the HS256 secret, a PEM public key or a JWK; jwt-kit does the cryptography
/// (``JWTAlgorithm/verify(_:signs:)``), the hub decides which key a token may use.
struct JWTVerificationKey: Sendable {
    /// The key id (`kid`) tokens name to select this key; `nil` for the secret and a PEM key.
    var kid: String?
    /// The algorithm pinned to the key: a token whose `alg` differs is refused.
    var algorithm: JWTSigningAlgorithm
    /// jwt-kit's verifier (and, for HS256, signer).
    let verifier: any JWTAlgorithm

    /// Why a key could not be made.
    struct LoadError: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// An HS256 key from a secret's bytes.
    static func hmac(secret: [UInt8]) async -> JWTVerificationKey {
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        // The collection has its default key now; getKey cannot fail.
        let verifier = try! await collection.getKey()
        return JWTVerificationKey(kid: nil, algorithm: .hs256, verifier: verifier)
    }

    /// A key from a PEM public key (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo; RSA keys
    /// also as `-----BEGIN RSA PUBLIC KEY-----`).
    ///
    /// With `algorithm` `nil` it is inferred from the key: RSA → RS256, P-256 → ES256,
    /// P-384 → ES384, Ed25519 → EdDSA. A given algorithm must fit the key's type.
    static func publicKey(pem: String, algorithm: JWTSigningAlgorithm?, kid: String? = nil) async throws(LoadError)
        -> JWTVerificationKey
    {
        let collection = JWTKeyCollection()
        let pinned: JWTSigningAlgorithm
        if let rsa = try? JWTKit.Insecure.RSA.PublicKey(pem: pem) {
            pinned = algorithm ?? .rs256
            switch pinned {
            case .rs256: await collection.add(rsa: rsa, digestAlgorithm: .sha256)
            case .rs384: await collection.add(rsa: rsa, digestAlgorithm: .sha384)
            case .rs512: await collection.add(rsa: rsa, digestAlgorithm: .sha512)
            case .ps256: await collection.add(pss: rsa, digestAlgorithm: .sha256)
            default: throw LoadError(description: "an RSA key cannot verify \(pinned.rawValue)")
            }
        } else if let ec = try? ES256PublicKey(pem: pem) {
            pinned = algorithm ?? .es256
            guard pinned == .es256 else { throw LoadError(description: "a P-256 key verifies ES256 only") }
            await collection.add(ecdsa: ec)
        } else if let ec = try? ES384PublicKey(pem: pem) {
            pinned = algorithm ?? .es384
            guard pinned == .es384 else { throw LoadError(description: "a P-384 key verifies ES384 only") }
            await collection.add(ecdsa: ec)
        } else if let ed = try? EdDSA.PublicKey(pem: pem) {
            pinned = algorithm ?? .eddsa
            guard pinned == .eddsa else { throw LoadError(description: "an Ed25519 key verifies EdDSA only") }
            await collection.add(eddsa: ed)
        } else {
            throw LoadError(description: "not a PEM RSA (2048 bits or more), P-256, P-384 or Ed25519 public key")
        }
        guard let verifier = try? await collection.getKey() else {
            throw LoadError(description: "jwt-kit could not make a verifier for the key")
        }
        return JWTVerificationKey(kid: kid, algorithm: pinned, verifier: verifier)
    }

    /// A key from one JWK (RFC 7517), with the algorithm it names, or else `defaultAlgorithm` when
    /// it fits the key type, or else the one inferred from the key type (RSA → RS256, EC P-256 →
    /// ES256, EC P-384 → ES384, OKP Ed25519 → EdDSA).
    static func jwk(_ jwk: JWK, defaultAlgorithm: JWTSigningAlgorithm?) async throws(LoadError) -> JWTVerificationKey {
        let pinned: JWTSigningAlgorithm
        if let named = jwk.algorithm {
            guard let algorithm = JWTSigningAlgorithm(rawValue: named.rawValue), algorithm != .hs256 else {
                throw LoadError(description: "unsupported alg \(named.rawValue)")
            }
            pinned = algorithm
        } else {
            switch (jwk.keyType, jwk.curve?.rawValue) {
            case (.rsa, _):
                pinned = defaultAlgorithm.flatMap { $0.isRSA ? $0 : nil } ?? .rs256
            case (.ecdsa, "P-256"): pinned = .es256
            case (.ecdsa, "P-384"): pinned = .es384
            case (.octetKeyPair, "Ed25519"): pinned = .eddsa
            default: throw LoadError(description: "unsupported key type")
            }
        }
        var copy = jwk
        let slot = JWKIdentifier(string: "key")
        copy.keyIdentifier = slot
        let collection = JWTKeyCollection()
        do {
            try await collection.add(jwk: copy)
            let verifier = try await collection.getKey(for: slot, alg: pinned.rawValue)
            guard verifier.name == pinned.rawValue else {
                throw LoadError(description: "key does not fit alg \(pinned.rawValue)")
            }
            return JWTVerificationKey(kid: jwk.keyIdentifier?.string, algorithm: pinned, verifier: verifier)
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(description: "invalid \(pinned.rawValue) key")
        }
    }
}

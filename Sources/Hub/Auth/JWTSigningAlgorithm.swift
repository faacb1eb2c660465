/// The JWS algorithms the hub verifies (RFC 7518 §3, RFC 8037 for EdDSA with Ed25519).
///
/// A token's `alg` must name one of these exactly (case-sensitive), and it must be the algorithm
/// pinned to the key that verifies it; `none` is never accepted.
public enum JWTSigningAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// HMAC with SHA-256, from `jwtSecret`.
    case hs256 = "HS256"
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    case rs256 = "RS256"
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    case rs384 = "RS384"
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    case rs512 = "RS512"
    /// RSASSA-PSS with SHA-256.
    case ps256 = "PS256"
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
    /// ECDSA on P-384 with SHA-384.
    case es384 = "ES384"
    /// EdDSA with Ed25519.
    case eddsa = "EdDSA"

    /// The algorithms for public keys (`jwtPublicKeyFile`, JWKS): all but HS256.
    public static var asymmetric: [JWTSigningAlgorithm] { Self.allCases.filter { $0 != .hs256 } }

    /// Whether the algorithm takes an RSA key.
    var isRSA: Bool { [.rs256, .rs384, .rs512, .ps256].contains(self) }
}

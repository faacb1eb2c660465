import Foundation
import NIOCore

extension HubConfiguration {
    /// Whether any way to verify a JWT is configured (secret, public key file or JWKS).
    public var hasJWTKeys: Bool {
        self.jwtSecret != nil || self.jwtPublicKeyFile != nil || self.jwksURL != nil
    }

    /// Checks the JWT settings: `jwtPublicKeyFile`, `jwksURL`, `jwtIssuer` and `jwtAudience` not
    /// empty when set; `jwksURL` a path or an `http(s)://` URL with a host; `jwtKeyAlgorithm` one
    /// of RS256, RS384, RS512, PS256, ES256, ES384, EdDSA; `jwksRefreshInterval` at least 1000 ms;
    /// `jwtLeeway` in 0...600 seconds; `maxTokenLength` between 256 and 65536 (the cap in force is
    /// the smaller of it and `maxHeaderSize`, see ``effectiveMaxTokenLength``).
    func validateJWT() throws {
        func fail(_ key: String, _ problem: String) -> HubConfigurationError {
            HubConfigurationError(key: key, problem: problem)
        }
        for (key, value) in [("jwtPublicKeyFile", self.jwtPublicKeyFile), ("jwksURL", self.jwksURL),
                             ("jwtIssuer", self.jwtIssuer), ("jwtAudience", self.jwtAudience)] where value?.isEmpty == true {
            throw fail(key, "must not be empty")
        }
        if let jwks = self.jwksURL, case .url(let url) = JWKSSource.Location(jwks), url.host?.isEmpty ?? true {
            throw fail("jwksURL", "not an http(s) URL with a host: \"\(jwks)\"")
        }
        if let name = self.jwtKeyAlgorithm {
            guard let algorithm = JWTSigningAlgorithm(rawValue: name), algorithm != .hs256 else {
                let known = JWTSigningAlgorithm.asymmetric.map(\.rawValue).joined(separator: ", ")
                throw fail("jwtKeyAlgorithm", "unknown algorithm \"\(name)\" (expected one of \(known))")
            }
        }
        guard self.jwksRefreshInterval >= Self.minJWKSRefreshInterval else {
            throw fail("jwksRefreshInterval", "must be at least \(Self.minJWKSRefreshInterval) milliseconds, got \(self.jwksRefreshInterval)")
        }
        guard (0...Self.maxJWTLeeway).contains(self.jwtLeeway) else {
            throw fail("jwtLeeway", "must be between 0 and \(Self.maxJWTLeeway) seconds, got \(self.jwtLeeway)")
        }
        guard (Self.minTokenLength...Self.maxTokenLengthLimit).contains(self.maxTokenLength) else {
            throw fail("maxTokenLength", "must be between \(Self.minTokenLength) and \(Self.maxTokenLengthLimit) bytes, got \(self.maxTokenLength)")
        }
    }

    /// The largest `maxTokenLength` accepted, in bytes.
    static let maxTokenLengthLimit = 65_536

    /// The token size cap in force: `maxTokenLength`, bounded by `maxHeaderSize` (a token that
    /// could not travel in an `Authorization` header is not accepted in a CONNECT payload either).
    public var effectiveMaxTokenLength: Int {
        min(self.maxTokenLength, self.maxHeaderSize)
    }

    /// The authenticator's settings; reads `jwtPublicKeyFile`.
    ///
    /// - Throws: ``HubConfigurationError`` (key `jwtPublicKeyFile`) when the file cannot be read.
    func tokenAuthenticatorConfiguration() throws -> TokenAuthenticator.Configuration {
        var configuration = TokenAuthenticator.Configuration()
        configuration.jwtSecret = self.jwtSecret
        if let path = self.jwtPublicKeyFile {
            do {
                configuration.publicKeyPEM = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw HubConfigurationError(key: "jwtPublicKeyFile", problem: "cannot read \(path) (\(error.localizedDescription))")
            }
        }
        configuration.keyAlgorithm = self.jwtKeyAlgorithm.flatMap(JWTSigningAlgorithm.init(rawValue:))
        configuration.jwks = self.jwksURL
        configuration.jwksRefreshInterval = .milliseconds(Int64(self.jwksRefreshInterval))
        configuration.issuer = self.jwtIssuer
        configuration.audience = self.jwtAudience
        configuration.leeway = self.jwtLeeway
        configuration.maxTokenLength = self.effectiveMaxTokenLength
        return configuration
    }
}

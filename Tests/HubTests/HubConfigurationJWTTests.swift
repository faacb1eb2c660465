import Foundation
import Hub
import Logging
import NIOPosix
import Testing

/// The identity-provider settings: jwtPublicKeyFile, jwksURL, jwtKeyAlgorithm, jwksRefreshInterval,
/// jwtIssuer, jwtAudience, jwtLeeway and maxTokenLength.
@Suite("HubConfiguration JWT settings")
struct HubConfigurationJWTTests {
    static func load(
        file json: String? = nil,
        environment: [String: String] = [:],
        overrides: HubConfiguration.Overrides = .init()
    ) throws -> HubConfiguration {
        try HubConfigurationTests.load(file: json, environment: environment, overrides: overrides)
    }

    static func defaults(_ change: (inout HubConfiguration) -> Void) -> HubConfiguration {
        var configuration = HubConfiguration()
        change(&configuration)
        return configuration
    }

    @Test func defaultValues() {
        let configuration = HubConfiguration()
        #expect(configuration.jwtPublicKeyFile == nil)
        #expect(configuration.jwksURL == nil)
        #expect(configuration.jwtKeyAlgorithm == nil)
        #expect(configuration.jwksRefreshInterval == 300_000)
        #expect(configuration.jwtIssuer == nil)
        #expect(configuration.jwtAudience == nil)
        #expect(configuration.jwtLeeway == 0)
        #expect(configuration.maxTokenLength == 12_288)
        #expect(configuration.maxTokenLength <= configuration.maxHeaderSize)
        #expect(configuration.effectiveMaxTokenLength == 12_288)
        #expect(!configuration.hasJWTKeys)
    }

    @Test func theCapInForceIsBoundedByTheHeaderSize() throws {
        var configuration = HubConfiguration()
        configuration.maxHeaderSize = 8192
        try configuration.validate()
        #expect(configuration.effectiveMaxTokenLength == 8192)
        configuration.maxTokenLength = 4096
        #expect(configuration.effectiveMaxTokenLength == 4096)
        configuration.maxHeaderSize = 65_536
        configuration.maxTokenLength = 65_536
        #expect(configuration.effectiveMaxTokenLength == 65_536)
    }

    @Test func fileKeysAreRead() throws {
        let configuration = try Self.load(file: """
            {"jwtPublicKeyFile": "/etc/hub/idp.pem", "jwksURL": "https://idp.example/jwks.json",
             "jwtKeyAlgorithm": "ES256", "jwksRefreshInterval": 60000, "jwtIssuer": "https://idp.example/",
             "jwtAudience": "hub", "jwtLeeway": 30, "maxTokenLength": 4096}
            """)
        #expect(configuration.jwtPublicKeyFile == "/etc/hub/idp.pem")
        #expect(configuration.jwksURL == "https://idp.example/jwks.json")
        #expect(configuration.jwtKeyAlgorithm == "ES256")
        #expect(configuration.jwksRefreshInterval == 60_000)
        #expect(configuration.jwtIssuer == "https://idp.example/")
        #expect(configuration.jwtAudience == "hub")
        #expect(configuration.jwtLeeway == 30)
        #expect(configuration.maxTokenLength == 4096)
        #expect(configuration.hasJWTKeys)
    }

    @Test func nullsMeanUnset() throws {
        let configuration = try Self.load(file: """
            {"jwtPublicKeyFile": null, "jwksURL": null, "jwtKeyAlgorithm": null, "jwtIssuer": null, "jwtAudience": null}
            """)
        #expect(configuration.jwtPublicKeyFile == nil && configuration.jwksURL == nil && configuration.jwtIssuer == nil)
    }

    @Test func environmentVariablesAreRead() throws {
        let configuration = try Self.load(environment: [
            "HUB_JWT_PUBLIC_KEY_FILE": "/k.pem", "HUB_JWKS_URL": "http://127.0.0.1:9/jwks", "HUB_JWT_KEY_ALGORITHM": "PS256",
            "HUB_JWKS_REFRESH_INTERVAL": "1000", "HUB_JWT_ISSUER": "iss", "HUB_JWT_AUDIENCE": "aud", "HUB_JWT_LEEWAY": "60",
            "HUB_MAX_TOKEN_LENGTH": "16384",
        ])
        #expect(configuration.jwtPublicKeyFile == "/k.pem")
        #expect(configuration.jwksURL == "http://127.0.0.1:9/jwks")
        #expect(configuration.jwtKeyAlgorithm == "PS256")
        #expect(configuration.jwksRefreshInterval == 1000)
        #expect(configuration.jwtIssuer == "iss")
        #expect(configuration.jwtAudience == "aud")
        #expect(configuration.jwtLeeway == 60)
        #expect(configuration.maxTokenLength == 16_384)
    }

    @Test func flagsBeatEnvironment() throws {
        var overrides = HubConfiguration.Overrides()
        overrides.jwtPublicKeyFile = "/flag.pem"
        overrides.jwksURL = "/flag-jwks.json"
        overrides.jwtIssuer = "flag-iss"
        overrides.jwtAudience = "flag-aud"
        let configuration = try Self.load(
            environment: ["HUB_JWKS_URL": "/env.json", "HUB_JWT_ISSUER": "env-iss"], overrides: overrides)
        #expect(configuration.jwtPublicKeyFile == "/flag.pem")
        #expect(configuration.jwksURL == "/flag-jwks.json")
        #expect(configuration.jwtIssuer == "flag-iss")
        #expect(configuration.jwtAudience == "flag-aud")
    }

    @Test(arguments: [
        ("jwtPublicKeyFile", Self.defaults { $0.jwtPublicKeyFile = "" }),
        ("jwksURL", Self.defaults { $0.jwksURL = "" }),
        ("jwksURL", Self.defaults { $0.jwksURL = "https://" }),
        ("jwtIssuer", Self.defaults { $0.jwtIssuer = "" }),
        ("jwtAudience", Self.defaults { $0.jwtAudience = "" }),
        ("jwtKeyAlgorithm", Self.defaults { $0.jwtKeyAlgorithm = "HS256" }),
        ("jwtKeyAlgorithm", Self.defaults { $0.jwtKeyAlgorithm = "none" }),
        ("jwtKeyAlgorithm", Self.defaults { $0.jwtKeyAlgorithm = "rs256" }),
        ("jwtKeyAlgorithm", Self.defaults { $0.jwtKeyAlgorithm = "ES512" }),
        ("jwksRefreshInterval", Self.defaults { $0.jwksRefreshInterval = 999 }),
        ("jwtLeeway", Self.defaults { $0.jwtLeeway = -1 }),
        ("jwtLeeway", Self.defaults { $0.jwtLeeway = 601 }),
        ("maxTokenLength", Self.defaults { $0.maxTokenLength = 255 }),
        ("maxTokenLength", Self.defaults { $0.maxTokenLength = 65_537 }),
    ])
    func validateNamesTheKey(key: String, configuration: HubConfiguration) {
        let error = HubConfigurationTests.configurationError { try configuration.validate() }
        #expect(error?.key == key)
    }

    @Test func validateAcceptsTheEdges() throws {
        var configuration = HubConfiguration()
        configuration.jwtKeyAlgorithm = "EdDSA"
        configuration.jwtLeeway = 600
        configuration.maxTokenLength = 256
        configuration.jwksRefreshInterval = 1000
        configuration.jwksURL = "file:///etc/hub/jwks.json"
        try configuration.validate()
        configuration.maxTokenLength = 65_536
        configuration.jwksURL = "http://127.0.0.1:8080/jwks.json"
        try configuration.validate()
        for algorithm in ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] {
            configuration.jwtKeyAlgorithm = algorithm
            try configuration.validate()
        }
    }

    // MARK: - The hub

    static func hub(_ change: (inout HubConfiguration) -> Void) throws -> Hub {
        var configuration = HubConfiguration()
        change(&configuration)
        var logger = Logger(label: "hub-jwt-config-tests")
        logger.logLevel = .critical
        return try Hub(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
    }

    @Test func publicKeysAloneAreNotDevMode() throws {
        let jwks = try Self.hub { $0.jwksURL = HubTestFixtures.url("keys/idp-jwks.json").path }
        #expect(jwks.devModeToken == nil)
        #expect(!jwks.authenticator.isUnconfigured)
        let pem = try Self.hub { $0.jwtPublicKeyFile = HubTestFixtures.url("keys/idp-rsa-public.pem").path }
        #expect(pem.devModeToken == nil)
        #expect(!pem.authenticator.isUnconfigured)
        let nothing = try Self.hub { _ in }
        #expect(nothing.devModeToken != nil)
    }

    @Test func unusableKeyFilesStopTheHub() throws {
        let missing = HubConfigurationTests.configurationError {
            _ = try Self.hub { $0.jwtPublicKeyFile = "/nonexistent/idp.pem" }
        }
        #expect(missing?.key == "jwtPublicKeyFile")
        let notAKey = HubConfigurationTests.configurationError {
            _ = try Self.hub { $0.jwtPublicKeyFile = HubTestFixtures.url("keys/idp-jwks.json").path }
        }
        #expect(notAKey?.key == "jwtPublicKeyFile")
        let wrongAlgorithm = HubConfigurationTests.configurationError {
            _ = try Self.hub {
                $0.jwtPublicKeyFile = HubTestFixtures.url("keys/idp-rsa-public.pem").path
                $0.jwtKeyAlgorithm = "ES256"
            }
        }
        #expect(wrongAlgorithm?.key == "jwtPublicKeyFile")
        let badJWKS = HubConfigurationTests.configurationError {
            _ = try Self.hub { $0.jwksURL = HubTestFixtures.url("keys/idp-rsa-public.pem").path }
        }
        #expect(badJWKS?.key == "jwksURL")
    }

    @Test func theHubUsesTheCapInForce() throws {
        let hub = try Self.hub {
            $0.jwtSecret = String(repeating: "k", count: 32)
            $0.maxHeaderSize = 4096
        }
        #expect(hub.authenticator.maxTokenLength == 4096)
    }
}

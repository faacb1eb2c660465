import Foundation

/// Files under `Fixtures/`, found from this source file's location.
enum HubTestFixtures {
    /// The package root.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // HubTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root

    /// `Fixtures/<relativePath>`.
    static func url(_ relativePath: String) -> URL {
        self.root.appendingPathComponent("Fixtures").appendingPathComponent(relativePath)
    }

    /// The text of `Fixtures/<relativePath>`, without surrounding whitespace.
    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: self.url(relativePath), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The test JWT secret (`Fixtures/keys/test-jwt-secret.txt`).
    static func jwtSecret() throws -> String {
        try self.text("keys/test-jwt-secret.txt")
    }
}

import Foundation
import NIOCore

/// The repository's top-level `Fixtures/` folder, found from this file's location.
package enum Fixtures {
    /// The URL of `relativePath` under `Fixtures/`.
    package static func url(_ relativePath: String) -> URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Support
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("Fixtures")
            .appendingPathComponent(relativePath)
    }

    /// Decodes the JSON fixture file at `relativePath`.
    package static func load<Value: Decodable>(_ type: Value.Type, from relativePath: String) throws -> Value {
        try JSONDecoder().decode(type, from: Data(contentsOf: self.url(relativePath)))
    }
}

/// A fixture file that does not say what the test needs.
package struct FixtureError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Decodes fixture base64 with Foundation, independently of the codecs under test.
package func bytes(base64: String) throws -> ByteBuffer {
    guard let data = Data(base64Encoded: base64) else { throw FixtureError("bad fixture base64 \(base64)") }
    return ByteBuffer(bytes: data)
}

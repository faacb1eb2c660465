import Foundation
import JWTKit
import SocketIO

/// The keys of a JSON Web Key Set (RFC 7517 §5), ready to verify tokens: at most
/// ``maxKeys``, by `kid`.
///
/// Keys with `use` other than `sig`, symmetric (`oct`) keys, and keys of a type or `alg` the hub
/// does not verify are skipped (counted in ``skipped``); so are keys past ``maxKeys`` and a second
/// key with the same `kid`.
struct JWTKeySet: Sendable {
    /// The most keys kept from one key set (an identity provider publishes a handful: current,
    /// next and previous).
    static let maxKeys = 32
    /// The largest key set document accepted, in bytes.
    static let maxDocumentSize = 1 << 20

    /// The usable keys, in document order.
    private(set) var keys: [JWTVerificationKey] = []
    /// How many keys of the document were not usable.
    private(set) var skipped = 0

    /// An empty set.
    init() {}

    /// The key whose `kid` is `kid`, if any.
    func key(kid: String) -> JWTVerificationKey? {
        self.keys.first { $0.kid.map { ExactName($0) == ExactName(kid) } ?? false }
    }

    /// The keys without a `kid`.
    var keysWithoutID: [JWTVerificationKey] {
        self.keys.filter { $0.kid == nil }
    }

    /// Parses a key set document and makes its keys.
    ///
    /// - Throws: ``JWTVerificationKey/LoadError`` when the document is not a JSON object with a
    ///   `keys` array, or is larger than ``maxDocumentSize``.
    static func parse(_ data: Data, defaultAlgorithm: JWTSigningAlgorithm?) async throws(JWTVerificationKey.LoadError)
        -> JWTKeySet
    {
        guard data.count <= Self.maxDocumentSize else {
            throw .init(description: "key set larger than \(Self.maxDocumentSize) bytes")
        }
        guard let text = String(validating: data, as: UTF8.self),
            let root = try? JSONValue.parse(text, maxDepth: 8),
            let elements = root["keys"]?.arrayValue
        else {
            throw .init(description: "not a JSON Web Key Set (an object with a \"keys\" array)")
        }
        var set = JWTKeySet()
        var seen = Set<ExactName>()
        for element in elements {
            guard set.keys.count < Self.maxKeys, element.objectValue != nil else {
                set.skipped += 1
                continue
            }
            if let use = element["use"], use.stringValue != "sig" {
                set.skipped += 1
                continue
            }
            let kid = element["kid"]?.stringValue
            if let kid, seen.contains(ExactName(kid)) {
                set.skipped += 1
                continue
            }
            guard let jwk = try? JWK(json: element.jsonString),
                let key = try? await JWTVerificationKey.jwk(jwk, defaultAlgorithm: defaultAlgorithm)
            else {
                set.skipped += 1
                continue
            }
            if let kid { seen.insert(ExactName(kid)) }
            set.keys.append(key)
        }
        return set
    }
}

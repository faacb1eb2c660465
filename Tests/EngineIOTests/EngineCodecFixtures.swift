import EngineIO
import Foundation
import TestSupport
import NIOCore
import Testing

/// The cases of `Fixtures/engineio/packets.json` (see its `_comment` for the format).
struct EngineCodecFixtures: Decodable, Sendable {
    struct Packet: Decodable, Sendable {
        var type: String
        var data: String?
        var text: String?
        var binaryBase64: String?

        /// The packet this fixture describes.
        func makePacket() throws -> EnginePacket {
            switch self.type {
            case "open": return .open(try self.require(self.data))
            case "close": return .close
            case "ping": return .ping(try self.require(self.data))
            case "pong": return .pong(try self.require(self.data))
            case "upgrade": return .upgrade
            case "noop": return .noop
            case "message":
                if let text = self.text { return .message(.text(text)) }
                return .message(.binary(try bytes(base64: try self.require(self.binaryBase64))))
            default:
                throw FixtureError("unknown packet type \(self.type)")
            }
        }

        private func require(_ value: String?) throws -> String {
            guard let value else { throw FixtureError("packet \(self.type) lacks its payload") }
            return value
        }
    }

    struct TextCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var wire: String
        var packet: Packet
        var testDescription: String { self.name }
    }

    struct BinaryFrameCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var base64: String
        var packet: Packet
        var testDescription: String { self.name }
    }

    struct PayloadCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var packets: [Packet]
        var roundTrip: Bool
        var testDescription: String { self.name }
    }

    struct MalformedCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var wire: String
        var error: String
        var testDescription: String { self.name }
    }

    struct MalformedPayloadCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var body: String?
        var bodyBase64: String?
        var error: String
        var testDescription: String { self.name }

        func makeBody() throws -> ByteBuffer {
            if let body = self.body { return ByteBuffer(string: body) }
            return try bytes(base64: self.bodyBase64 ?? "")
        }
    }

    var packets: [TextCase]
    var binaryFrames: [BinaryFrameCase]
    var decodeOnly: [TextCase]
    var payloads: [PayloadCase]
    var malformed: [MalformedCase]
    var malformedPayloads: [MalformedPayloadCase]

    static func load() throws -> EngineCodecFixtures {
        try Fixtures.load(EngineCodecFixtures.self, from: "engineio/packets.json")
    }
}

/// Maps a fixture error name to the codec's error.
func engineCodecError(named name: String) throws -> EngineCodecError {
    switch name {
    case "emptyPacket": return .emptyPacket
    case "unknownPacketType": return .unknownPacketType
    case "invalidBase64": return .invalidBase64
    case "invalidUTF8": return .invalidUTF8
    case "payloadTooLarge": return .payloadTooLarge
    default: throw FixtureError("unknown error name \(name)")
    }
}

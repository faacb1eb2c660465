import Foundation
import TestSupport
import NIOCore
import SocketIO
import Testing

/// The cases of `Fixtures/socketio/packets.json` (see its `_comment` for the format).
struct SocketIOFixtures: Decodable, Sendable {
    /// A JSON value as written in the fixture file, read with Foundation (not with the code under test).
    indirect enum Value: Decodable, Sendable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let string = try? container.decode(String.self) {
                self = .string(string)
            } else if let array = try? container.decode([Value].self) {
                self = .array(array)
            } else {
                self = .object(try container.decode([String: Value].self))
            }
        }

        /// The `JSONValue`: `{"$binary": base64}` becomes `.binary`, object keys are sorted.
        func makeJSONValue() throws -> JSONValue {
            switch self {
            case .null: return .null
            case .bool(let bool): return .bool(bool)
            case .number(let number): return .number(number)
            case .string(let string): return .string(string)
            case .array(let elements): return .array(try elements.map { try $0.makeJSONValue() })
            case .object(let members):
                if members.count == 1, case .string(let base64)? = members["$binary"] {
                    return .binary(try bytes(base64: base64))
                }
                return .object(JSONObject(try members.keys.sorted().map { ($0, try members[$0]!.makeJSONValue()) }))
            }
        }
    }

    struct Packet: Decodable, Sendable {
        var type: String
        var nsp: String
        var id: Int?
        var data: Value?

        func makePacket() throws -> SocketPacket {
            guard let type = SocketPacketType.allCases.first(where: { "\($0)" == self.type }) else {
                throw FixtureError("unknown packet type \(self.type)")
            }
            return SocketPacket(type: type, namespace: self.nsp, id: self.id, data: try self.data?.makeJSONValue())
        }
    }

    struct ValidCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var wire: String
        var packet: Packet
        var attachments: [String]?
        var direction: String?

        var testDescription: String { self.name }
        var decodes: Bool { self.direction != "encode" }
        var encodes: Bool { self.direction != "decode" }

        func makeAttachments() throws -> [ByteBuffer] {
            try (self.attachments ?? []).map { try bytes(base64: $0) }
        }
    }

    struct Message: Decodable, Sendable {
        var text: String?
        var binary: String?
    }

    struct MalformedCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var messages: [Message]
        var error: String
        var maxAttachments: Int?
        var maxJSONDepth: Int?

        var testDescription: String { self.name }

        func makeError() throws -> SocketDecodingError {
            switch self.error {
            case "unknownPacketType": return .unknownPacketType
            case "illegalAttachments": return .illegalAttachments
            case "invalidNamespace": return .invalidNamespace
            case "invalidPayload": return .invalidPayload
            case "unexpectedBinary": return .unexpectedBinary
            case "unexpectedText": return .unexpectedText
            case "tooManyAttachments": return .tooManyAttachments
            case "invalidPlaceholder": return .invalidPlaceholder
            default: throw FixtureError("unknown error \(self.error)")
            }
        }

        func makeDecoder() -> SocketPacketDecoder {
            SocketPacketDecoder(maxAttachments: self.maxAttachments ?? 100, maxJSONDepth: self.maxJSONDepth ?? 128)
        }
    }

    var valid: [ValidCase]
    var malformed: [MalformedCase]

    static func load() throws -> SocketIOFixtures {
        try Fixtures.load(SocketIOFixtures.self, from: "socketio/packets.json")
    }
}

import TestSupport
import EngineIO
import NIOCore
import SocketIO
import Testing

@Suite("SocketPacketDecoder")
struct SocketPacketDecoderTests {
    @Test func fixturesDecodeEveryPacketTypeAndError() throws {
        let fixtures = try SocketIOFixtures.load()
        let wireTypes = Set(fixtures.valid.filter(\.decodes).map { $0.wire.utf8.first! - UInt8(ascii: "0") })
        #expect(wireTypes == Set(SocketPacketType.allCases.map(\.rawValue)))
        let errors = Set(try fixtures.malformed.map { try $0.makeError() })
        // invalidNamespace is never produced: the wire format accepts any namespace text.
        #expect(errors == [.unknownPacketType, .illegalAttachments, .invalidPayload, .unexpectedBinary,
                           .unexpectedText, .tooManyAttachments, .invalidPlaceholder])
        #expect(fixtures.valid.contains { ($0.attachments ?? []).count == 2 && $0.wire.hasPrefix("5") })
        #expect(fixtures.valid.contains { ($0.attachments ?? []).count == 2 && $0.wire.hasPrefix("6") })
    }

    @Test("decoding the fixture text and attachments gives the packet",
          arguments: try SocketIOFixtures.load().valid.filter(\.decodes))
    func decode(_ fixture: SocketIOFixtures.ValidCase) throws {
        var decoder = SocketPacketDecoder()
        let attachments = try fixture.makeAttachments()
        var packet = try decoder.decode(text: fixture.wire)
        for (index, attachment) in attachments.enumerated() {
            #expect(packet == nil, "complete before attachment \(index)")
            #expect(decoder.isAwaitingAttachments)
            packet = try decoder.decode(binary: attachment)
        }
        #expect(!decoder.isAwaitingAttachments)
        #expect(try packet == fixture.packet.makePacket())
    }

    @Test("malformed input is rejected", arguments: try SocketIOFixtures.load().malformed)
    func malformed(_ fixture: SocketIOFixtures.MalformedCase) throws {
        var decoder = fixture.makeDecoder()
        let expected = try fixture.makeError()
        for (index, message) in fixture.messages.enumerated() {
            let feed = { (decoder: inout SocketPacketDecoder) throws(SocketDecodingError) -> SocketPacket? in
                if let text = message.text { return try decoder.decode(text: text) }
                return try decoder.decode(binary: try! bytes(base64: message.binary!))
            }
            if index == fixture.messages.count - 1 {
                #expect(throws: expected) { _ = try feed(&decoder) }
            } else {
                _ = try feed(&decoder)
            }
        }
        #expect(!decoder.isAwaitingAttachments, "an error resets the decoder")
    }

    @Test func decoderIsUsableAfterAnError() throws {
        var decoder = SocketPacketDecoder()
        #expect(try decoder.decode(text: #"51-["a",{"_placeholder":true,"num":0}]"#) == nil)
        #expect(throws: SocketDecodingError.unexpectedText) { try decoder.decode(text: "2") }
        #expect(try decoder.decode(text: #"2["b"]"#) == SocketPacket(type: .event, data: ["b"]))
        #expect(throws: SocketDecodingError.unexpectedBinary) { try decoder.decode(binary: ByteBuffer()) }
    }

    @Test func binaryPacketWithoutAttachmentsCompletesImmediately() throws {
        // The reference decoder emits it but stays stuck waiting; this one is ready for the next packet.
        var decoder = SocketPacketDecoder()
        #expect(try decoder.decode(text: #"60-5["ok"]"#) == SocketPacket(type: .ack, id: 5, data: ["ok"]))
        #expect(!decoder.isAwaitingAttachments)
        #expect(try decoder.decode(text: "3/n,6[]") == SocketPacket(type: .ack, namespace: "/n", id: 6, data: []))
    }

    @Test func consecutiveBinaryPacketsAreIndependent() throws {
        var decoder = SocketPacketDecoder()
        for round in 0..<3 {
            #expect(try decoder.decode(text: #"51-["r",{"_placeholder":true,"num":0}]"#) == nil)
            let packet = try decoder.decode(binary: ByteBuffer(bytes: [UInt8(round)]))
            #expect(packet == SocketPacket(type: .event, data: ["r", .binary(ByteBuffer(bytes: [UInt8(round)]))]))
        }
    }

    @Test func attachmentCountUpToTheLimitIsAccepted() throws {
        var decoder = SocketPacketDecoder(maxAttachments: 2)
        #expect(try decoder.decode(text: #"52-["a"]"#) == nil)
        var limited = SocketPacketDecoder(maxAttachments: 2)
        #expect(throws: SocketDecodingError.tooManyAttachments) { try limited.decode(text: #"53-["a"]"#) }
    }

    @Test func jsonDepthLimitIsConfigurable() throws {
        let nested = "2[\"a\"," + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "]"
        var strict = SocketPacketDecoder()
        #expect(throws: SocketDecodingError.invalidPayload) { try strict.decode(text: nested) }
        var lenient = SocketPacketDecoder(maxJSONDepth: 201)
        #expect(try lenient.decode(text: nested)?.data?[0] == "a")
    }

    @Test func decodesEngineMessages() throws {
        var decoder = SocketPacketDecoder()
        #expect(try decoder.decode(EngineMessage.text(#"61-1[{"_placeholder":true,"num":0}]"#)) == nil)
        let packet = try decoder.decode(EngineMessage.binary(ByteBuffer(bytes: [0xAB])))
        #expect(packet == SocketPacket(type: .ack, id: 1, data: [.binary(ByteBuffer(bytes: [0xAB]))]))
    }

    @Test func resetDropsAPendingPacket() throws {
        var decoder = SocketPacketDecoder()
        #expect(try decoder.decode(text: #"51-["a",{"_placeholder":true,"num":0}]"#) == nil)
        decoder.reset()
        #expect(!decoder.isAwaitingAttachments)
        #expect(try decoder.decode(text: "1") == SocketPacket(type: .disconnect))
    }

    @Test func keyOrderOfTheWireIsKept() throws {
        var decoder = SocketPacketDecoder()
        let packet = try #require(try decoder.decode(text: #"0{"z":1,"a":2,"m":3}"#))
        #expect(packet.data?.objectValue?.keys == ["z", "a", "m"])
    }
}

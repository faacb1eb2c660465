import EngineIO
import NIOCore
import SocketIO
import Testing

@Suite("SocketPacketEncoder")
struct SocketPacketEncoderTests {
    private let allocator = ByteBufferAllocator()

    @Test func fixturesEncodeEveryPacketType() throws {
        let fixtures = try SocketIOFixtures.load()
        var types = Set<SocketPacketType>()
        for fixture in fixtures.valid where fixture.encodes {
            let packet = try fixture.packet.makePacket()
            // The type on the wire, which is what must be covered.
            types.insert(SocketPacketType(rawValue: fixture.wire.utf8.first! - UInt8(ascii: "0"))!)
            if packet.data?.containsBinary == true {
                #expect(!(fixture.attachments ?? []).isEmpty, "\(fixture.name)")
            }
        }
        #expect(types == Set(SocketPacketType.allCases))
    }

    @Test("encodeText gives the fixture text and attachments",
          arguments: try SocketIOFixtures.load().valid.filter(\.encodes))
    func encodeText(_ fixture: SocketIOFixtures.ValidCase) throws {
        let (text, attachments) = SocketPacketEncoder.encodeText(try fixture.packet.makePacket())
        #expect(text == fixture.wire)
        #expect(attachments == (try fixture.makeAttachments()))
    }

    @Test("encode gives the Engine.IO message then one binary packet per attachment",
          arguments: try SocketIOFixtures.load().valid.filter(\.encodes))
    func encode(_ fixture: SocketIOFixtures.ValidCase) throws {
        let encoded = SocketPacketEncoder.encode(try fixture.packet.makePacket(), allocator: self.allocator)
        let expected = [EncodedPacket(kind: .text, bytes: ByteBuffer(string: "4" + fixture.wire))]
            + (try fixture.makeAttachments()).map { EncodedPacket(kind: .binary, bytes: $0) }
        #expect(encoded == expected)
    }

    @Test func objectMembersAreWrittenInInsertionOrder() throws {
        let data: JSONValue = ["e", ["z": 1, "a": ["y": true, "b": nil], "m": "x"]]
        let (text, _) = SocketPacketEncoder.encodeText(SocketPacket(type: .event, data: data))
        #expect(text == #"2["e",{"z":1,"a":{"y":true,"b":null},"m":"x"}]"#)
    }

    @Test func placeholdersFollowInsertionOrderDepthFirst() throws {
        let one = ByteBuffer(bytes: [1])
        let two = ByteBuffer(bytes: [2])
        let three = ByteBuffer(bytes: [3])
        let data: JSONValue = ["e", ["z": .binary(one), "a": [.binary(two)]], .binary(three)]
        let (text, attachments) = SocketPacketEncoder.encodeText(SocketPacket(type: .event, id: 4, data: data))
        #expect(text == #"53-4["e",{"z":{"_placeholder":true,"num":0},"a":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":2}]"#)
        #expect(attachments == [one, two, three])
    }

    @Test func decodedBinaryPacketReencodesToTheSameWire() throws {
        let wire = #"52-/chat,9["up",{"z":{"_placeholder":true,"num":0},"a":{"_placeholder":true,"num":1}}]"#
        var decoder = SocketPacketDecoder()
        #expect(try decoder.decode(text: wire) == nil)
        #expect(try decoder.decode(binary: ByteBuffer(bytes: [1])) == nil)
        let packet = try #require(try decoder.decode(binary: ByteBuffer(bytes: [2])))
        let (text, attachments) = SocketPacketEncoder.encodeText(packet)
        #expect(text == wire)
        #expect(attachments == [ByteBuffer(bytes: [1]), ByteBuffer(bytes: [2])])
    }

    @Test func binaryInNonEventPacketsIsWrittenAsNull() {
        let packet = SocketPacket(type: .connect, namespace: "/a", data: ["file": .binary(ByteBuffer(bytes: [1]))])
        let (text, attachments) = SocketPacketEncoder.encodeText(packet)
        #expect(text == #"0/a,{"file":null}"#)
        #expect(attachments.isEmpty)
        #expect(SocketPacketEncoder.encode(packet, allocator: self.allocator).count == 1)
    }

    @Test func negativeAckIdIsWrittenWithItsSign() {
        // Not valid on the wire, but the encoder must not crash or corrupt the header.
        let (text, _) = SocketPacketEncoder.encodeText(SocketPacket(type: .ack, id: -3, data: []))
        #expect(text == "3-3[]")
    }

    @Test func writeAppendsToAnExistingBuffer() {
        var buffer = ByteBuffer(string: "prefix:")
        let attachments = SocketPacketEncoder.write(SocketPacket(type: .event, data: ["a", .binary(ByteBuffer(bytes: [7]))]), into: &buffer)
        #expect(String(buffer: buffer) == #"prefix:51-["a",{"_placeholder":true,"num":0}]"#)
        #expect(attachments == [ByteBuffer(bytes: [7])])
    }

    @Test func largePayloadGrowsTheBuffer() throws {
        let long = String(repeating: "x", count: 10_000)
        let packet = SocketPacket(type: .event, namespace: "/n", data: ["big", .string(long)])
        let encoded = SocketPacketEncoder.encode(packet, allocator: self.allocator)
        #expect(encoded.count == 1)
        #expect(String(buffer: encoded[0].bytes) == #"42/n,["big",""# + long + #""]"#)
    }

    @Test func descriptionIsTheTextForm() {
        #expect(SocketPacket(type: .event, namespace: "/x", id: 1, data: ["a"]).description == #"2/x,1["a"]"#)
    }
}

import TestSupport
import EngineIO
import Foundation
import NIOCore
import Testing

@Suite("EngineCodec")
struct EngineCodecTests {
    private let allocator = ByteBufferAllocator()

    // MARK: - Fixture sanity

    @Test func fixturesCoverEveryPacketTypeAndError() throws {
        let fixtures = try EngineCodecFixtures.load()
        let encodedTypes = Set(try fixtures.packets.map { try $0.packet.makePacket().type })
        #expect(encodedTypes == Set(EnginePacketType.allCases))
        let errors = Set(fixtures.malformed.map(\.error) + fixtures.malformedPayloads.map(\.error))
        #expect(errors == ["emptyPacket", "unknownPacketType", "invalidBase64", "invalidUTF8"])
        #expect(fixtures.payloads.contains { payload in payload.packets.contains { $0.binaryBase64 != nil } })
    }

    // MARK: - Single packets

    @Test("decode(text:) gives the fixture packet", arguments: try EngineCodecFixtures.load().packets)
    func decodeText(_ fixture: EngineCodecFixtures.TextCase) throws {
        #expect(try EngineCodec.decode(text: fixture.wire) == fixture.packet.makePacket())
    }

    @Test("encode gives the fixture wire text", arguments: try EngineCodecFixtures.load().packets)
    func encodeText(_ fixture: EngineCodecFixtures.TextCase) throws {
        let encoded = EngineCodec.encode(try fixture.packet.makePacket(), allocator: self.allocator)
        #expect(encoded.kind == .text)
        #expect(String(buffer: encoded.bytes) == fixture.wire)
    }

    @Test("decode-only text packets", arguments: try EngineCodecFixtures.load().decodeOnly)
    func decodeOnly(_ fixture: EngineCodecFixtures.TextCase) throws {
        #expect(try EngineCodec.decode(text: fixture.wire) == fixture.packet.makePacket())
    }

    @Test("binary frames both ways", arguments: try EngineCodecFixtures.load().binaryFrames)
    func binaryFrame(_ fixture: EngineCodecFixtures.BinaryFrameCase) throws {
        let frame = try bytes(base64: fixture.base64)
        let packet = try fixture.packet.makePacket()
        #expect(EngineCodec.decode(binary: frame) == packet)
        let encoded = EngineCodec.encode(packet, allocator: self.allocator)
        #expect(encoded.kind == .binary)
        #expect(encoded.bytes == frame)
    }

    @Test("malformed packets are rejected", arguments: try EngineCodecFixtures.load().malformed)
    func malformedPacket(_ fixture: EngineCodecFixtures.MalformedCase) throws {
        let expected = try engineCodecError(named: fixture.error)
        #expect(throws: expected) { try EngineCodec.decode(text: fixture.wire) }
        // A one-segment polling body fails the same way.
        #expect(throws: expected) { try EngineCodec.decodePayload(ByteBuffer(string: fixture.wire)) }
    }

    // MARK: - Polling payloads

    @Test("decodePayload gives the fixture packets", arguments: try EngineCodecFixtures.load().payloads)
    func decodePayload(_ fixture: EngineCodecFixtures.PayloadCase) throws {
        let expected = try fixture.packets.map { try $0.makePacket() }
        #expect(try EngineCodec.decodePayload(ByteBuffer(string: fixture.body)) == expected)
    }

    @Test("writePayload gives the fixture body", arguments: try EngineCodecFixtures.load().payloads.filter(\.roundTrip))
    func writePayload(_ fixture: EngineCodecFixtures.PayloadCase) throws {
        let encoded = try fixture.packets.map { EngineCodec.encode(try $0.makePacket(), allocator: self.allocator) }
        var body = self.allocator.buffer(capacity: 0)
        EngineCodec.writePayload(encoded, into: &body)
        #expect(String(buffer: body) == fixture.body)
    }

    @Test("malformed payloads are rejected", arguments: try EngineCodecFixtures.load().malformedPayloads)
    func malformedPayload(_ fixture: EngineCodecFixtures.MalformedPayloadCase) throws {
        let body = try fixture.makeBody()
        let expected = try engineCodecError(named: fixture.error)
        #expect(throws: expected) { try EngineCodec.decodePayload(body) }
    }

    @Test func decodePayloadReadsOnlyTheReadableBytes() throws {
        var body = ByteBuffer(string: "garbage4hello\u{1E}2")
        body.moveReaderIndex(forwardBy: 7)
        let sliced = body.getSlice(at: body.readerIndex, length: body.readableBytes - 2)!
        #expect(try EngineCodec.decodePayload(body) == [.message(.text("hello")), .ping("")])
        #expect(try EngineCodec.decodePayload(sliced) == [.message(.text("hello"))])
    }

    @Test func decodePayloadOfLongBinaryMatchesFoundationBase64() throws {
        let raw = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let body = ByteBuffer(string: "b" + Data(raw).base64EncodedString())
        #expect(try EngineCodec.decodePayload(body) == [.message(.binary(ByteBuffer(bytes: raw)))])

        var written = ByteBuffer()
        EngineCodec.writePayload([EncodedPacket(kind: .binary, bytes: ByteBuffer(bytes: raw))], into: &written)
        #expect(written == body)
    }

    @Test func writePayloadAppendsToExistingBytes() {
        var body = ByteBuffer(string: "prefix|")
        EngineCodec.writePayload([EngineCodec.encode(.noop, allocator: self.allocator)], into: &body)
        #expect(String(buffer: body) == "prefix|6")
    }

    @Test func writePayloadOfNoPacketsWritesNothing() {
        var body = ByteBuffer()
        EngineCodec.writePayload([EncodedPacket](), into: &body)
        #expect(body.readableBytes == 0)
    }

    // MARK: - Encoding helpers

    @Test func encodeTextMessageWritesTypeDigitThenBody() throws {
        let packet = EngineCodec.encodeTextMessage(allocator: self.allocator, reservingCapacity: 2) { buffer in
            buffer.writeString("2[\"a\",\"ü\"]")
        }
        #expect(packet.kind == .text)
        #expect(String(buffer: packet.bytes) == "42[\"a\",\"ü\"]")
        #expect(try EngineCodec.decode(text: String(buffer: packet.bytes)) == .message(.text("2[\"a\",\"ü\"]")))
    }

    @Test func encodeTextMessageWithEmptyBodyIsAnEmptyMessage() {
        let packet = EngineCodec.encodeTextMessage(allocator: self.allocator, reservingCapacity: 0) { _ in }
        #expect(packet == EncodedPacket(kind: .text, bytes: ByteBuffer(string: "4")))
    }

    @Test func packetTypeDigits() {
        for type in EnginePacketType.allCases {
            #expect(type.asciiDigit == UInt8(ascii: "0") + type.rawValue)
        }
        #expect(EnginePacket.message(.text("x")).type == .message)
        #expect(EnginePacket.open("{}").type == .open)
    }
}

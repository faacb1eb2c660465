#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EngineIO
import FuzzSupport
import NIOCore

/// Engine.IO text packet decoder (`EngineCodec.decode(text:)`).
///
/// Invariants: a text packet re-encodes to the same text (close, upgrade and noop drop their data, so
/// only the type digit is compared) and decodes again to the same packet; a `b<base64>` packet
/// survives a polling payload round trip.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnginePacket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let text = String(decoding: bytes, as: UTF8.self)
    guard let packet = try? EngineCodec.decode(text: text) else { return 0 }
    let allocator = ByteBufferAllocator()
    let encoded = EngineCodec.encode(packet, allocator: allocator)
    switch packet {
    case .message(.binary):
        fuzzCheck(encoded.kind == .binary, "binary message encoded as text")
        var body = allocator.buffer(capacity: 0)
        EngineCodec.writePayload([encoded], into: &body)
        let again = try? EngineCodec.decodePayload(body)
        fuzzCheck(again == [packet], "binary round trip: \(packet) -> \(String(buffer: body)) -> \(String(describing: again))")
    case .open, .ping, .pong, .message(.text):
        fuzzCheck(encoded.kind == .text, "text packet encoded as binary")
        let wire = String(buffer: encoded.bytes)
        fuzzCheck(wire == text, "text round trip: \(text.debugDescription) -> \(wire.debugDescription)")
        let again = try? EngineCodec.decode(text: wire)
        fuzzCheck(again == packet, "decode(encode(p)) != p for \(wire.debugDescription)")
    case .close, .upgrade, .noop:
        let wire = String(buffer: encoded.bytes)
        fuzzCheck(wire.utf8.count == 1 && wire.utf8.first == text.utf8.first, "data-less packet: \(wire.debugDescription)")
        let again = try? EngineCodec.decode(text: wire)
        fuzzCheck(again == packet, "decode(encode(p)) != p for \(wire.debugDescription)")
    }
    return 0
}

@main
enum FuzzEnginePacketMain {
    static func main() {
        exit(runFuzzer(fuzzEnginePacket))
    }
}

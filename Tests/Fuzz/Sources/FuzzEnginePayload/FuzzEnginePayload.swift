#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EngineIO
import FuzzSupport
import NIOCore

/// Engine.IO long-polling payload decoder (`EngineCodec.decodePayload`): 0x1E-separated
/// segments, `b<base64>` binaries, UTF-8 validation of the whole body.
///
/// Invariants: a decoded payload written back with `writePayload` decodes to the same packets; a
/// payload that is not valid UTF-8 is refused (as ``EngineCodecError/invalidUTF8``).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnginePayload(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let body = ByteBuffer(bytes: bytes)
    let packets: [EnginePacket]
    do {
        packets = try EngineCodec.decodePayload(body)
    } catch {
        if String(validating: bytes, as: UTF8.self) == nil, !bytes.isEmpty {
            fuzzCheck(error == .invalidUTF8, "invalid UTF-8 refused as \(error)")
        }
        return 0
    }
    fuzzCheck(String(validating: bytes, as: UTF8.self) != nil, "invalid UTF-8 accepted")
    fuzzCheck(!packets.isEmpty, "empty packet list")
    let allocator = ByteBufferAllocator()
    var written = allocator.buffer(capacity: 0)
    EngineCodec.writePayload(packets.map { EngineCodec.encode($0, allocator: allocator) }, into: &written)
    let again = try? EngineCodec.decodePayload(written)
    fuzzCheck(again == packets, "payload round trip: \(packets) -> \(String(buffer: written).debugDescription)")
    return 0
}

@main
enum FuzzEnginePayloadMain {
    static func main() {
        exit(runFuzzer(fuzzEnginePayload))
    }
}

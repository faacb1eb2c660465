#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EngineIO
import FuzzSupport
import NIOCore
import SocketIO

/// Socket.IO decoder with binary attachments (`SocketPacketDecoder`), fed a sequence of Engine.IO
/// messages as one session would: the input is split at 0x1E; a part starting with 0x01 is a binary
/// message (the rest of the part), any other part a text message.
///
/// Invariants for every packet decoded: `encodeText`, `description` and the hot-path `encode` agree
/// (same text, same attachments); and the encoded text + attachments, fed to a fresh decoder, give
/// back the same packet (unless the payload holds a number JSON cannot carry, such as 1e999).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    var decoder = SocketPacketDecoder()
    for part in bytes.split(separator: 0x1E, omittingEmptySubsequences: false) {
        let message: EngineMessage
        if part.first == 0x01 {
            message = .binary(ByteBuffer(bytes: part.dropFirst()))
        } else {
            message = .text(String(decoding: part, as: UTF8.self))
        }
        guard let packet = try? decoder.decode(message) else { continue }
        check(packet)
    }
    return 0
}

private func check(_ packet: SocketPacket) {
    let (text, attachments) = SocketPacketEncoder.encodeText(packet)
    fuzzCheck(packet.description == text, "description differs from encodeText")
    let engine = SocketPacketEncoder.encode(packet, allocator: ByteBufferAllocator())
    fuzzCheck(engine.count == 1 + attachments.count, "encode gave \(engine.count) packets for \(attachments.count) attachments")
    fuzzCheck(engine[0].kind == .text && String(buffer: engine[0].bytes) == "4" + text, "hot-path text differs: \(text.debugDescription)")
    for (index, attachment) in attachments.enumerated() {
        fuzzCheck(engine[index + 1].kind == .binary && engine[index + 1].bytes == attachment, "attachment \(index) differs")
    }
    guard !(packet.data.map(hasNonFiniteNumber) ?? false) else { return }

    var fresh = SocketPacketDecoder()
    var result: SocketPacket?
    do {
        result = try fresh.decode(text: text)
        for attachment in attachments {
            fuzzCheck(result == nil, "packet complete before its attachments: \(text.debugDescription)")
            result = try fresh.decode(binary: attachment)
        }
    } catch {
        fuzzCheck(false, "re-decoding \(text.debugDescription) failed: \(error)")
    }
    fuzzCheck(result == packet, "round trip: \(text.debugDescription) -> \(String(describing: result))")
}

private func hasNonFiniteNumber(_ value: JSONValue) -> Bool {
    switch value {
    case .number(let number): !number.isFinite
    case .array(let elements): elements.contains(where: hasNonFiniteNumber)
    case .object(let object): object.contains { hasNonFiniteNumber($0.value) }
    case .null, .bool, .string, .binary: false
    }
}

@main
enum FuzzSocketDecoderMain {
    static func main() {
        exit(runFuzzer(fuzzSocketDecoder))
    }
}

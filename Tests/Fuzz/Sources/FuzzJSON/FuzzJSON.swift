#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FuzzSupport
import NIOCore
import SocketIO

/// The JSON parser and writer (`JSONValue.parse`, `jsonString`, and the measured writer used by
/// `SocketPacketEncoder`).
///
/// Invariants: the byte parser refuses input that is not UTF-8; on valid UTF-8 the byte and the
/// `String` parser agree; the written form parses again to the same value (unless it holds a number
/// JSON cannot carry, such as 1e999) and is a fixed point (write ∘ parse ∘ write = write); an event
/// carrying the value encodes to `2["e",<written form>]`, which checks the writer's size bound.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let isUTF8 = String(validating: bytes, as: UTF8.self) != nil
    let fromBytes = Result { () throws(JSONError) in try JSONValue.parse(ByteBuffer(bytes: bytes)) }
    if !isUTF8 {
        fuzzCheck((try? fromBytes.get()) == nil, "byte parser accepted invalid UTF-8")
        return 0
    }
    let fromString = Result { () throws(JSONError) in try JSONValue.parse(String(decoding: bytes, as: UTF8.self)) }
    guard let value = try? fromBytes.get() else {
        fuzzCheck((try? fromString.get()) == nil, "String parser accepted what the byte parser refused")
        return 0
    }
    fuzzCheck((try? fromString.get()) == value, "byte and String parsers disagree")

    let written = value.jsonString
    let again: JSONValue
    do {
        again = try JSONValue.parse(written)
    } catch {
        fuzzCheck(false, "written form does not parse: \(written.debugDescription): \(error)")
        return 0
    }
    fuzzCheck(again.jsonString == written, "write is not a fixed point: \(written.debugDescription)")
    if !hasNonFiniteNumber(value) {
        fuzzCheck(again == value, "parse(write(v)) != v for \(written.debugDescription)")
    }
    let event = SocketPacket(type: .event, data: .array(["e", value]))
    let (text, attachments) = SocketPacketEncoder.encodeText(event)
    fuzzCheck(attachments.isEmpty && text == "2[\"e\"," + written + "]", "event text differs: \(text.debugDescription)")
    return 0
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
enum FuzzJSONMain {
    static func main() {
        exit(runFuzzer(fuzzJSON))
    }
}

import NIOCore

/// Standard base64 (RFC 4648 §4) for `b` packets in long-polling payloads.
///
/// Decoding accepts padded and unpadded input (Node.js emits padded, but also accepts
/// unpadded); anything outside the standard alphabet, misplaced `=`, or a length that
/// leaves a single dangling character is rejected.
enum EngineBase64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Maps an ASCII byte to its 6-bit value, or 0xFF when it is not in the alphabet.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, char) in alphabet.enumerated() {
            table[Int(char)] = UInt8(value)
        }
        return table
    }()

    /// The number of characters `byteCount` bytes encode to (with padding).
    static func encodedLength(_ byteCount: Int) -> Int {
        ((byteCount + 2) / 3) * 4
    }

    /// Appends the padded base64 encoding of `bytes` to `buffer`.
    static func encode(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        let outLength = encodedLength(bytes.count)
        guard outLength > 0 else { return }
        self.alphabet.withUnsafeBufferPointer { alphabet in
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: outLength) { out in
                var i = 0
                var o = 0
                let count = bytes.count
                while i + 3 <= count {
                    let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                    out[o] = alphabet[Int(v >> 18)]
                    out[o + 1] = alphabet[Int((v >> 12) & 0x3F)]
                    out[o + 2] = alphabet[Int((v >> 6) & 0x3F)]
                    out[o + 3] = alphabet[Int(v & 0x3F)]
                    i += 3
                    o += 4
                }
                let remaining = count - i
                if remaining > 0 {
                    var v = UInt32(bytes[i]) << 16
                    if remaining == 2 { v |= UInt32(bytes[i + 1]) << 8 }
                    out[o] = alphabet[Int(v >> 18)]
                    out[o + 1] = alphabet[Int((v >> 12) & 0x3F)]
                    out[o + 2] = remaining == 2 ? alphabet[Int((v >> 6) & 0x3F)] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                }
                return outLength
            }
        }
    }

    /// Decodes base64 text into a new buffer, or returns `nil` if it is not valid base64.
    static func decode(_ text: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var length = text.count
        if length > 0, length % 4 == 0 {
            if text[length - 1] == UInt8(ascii: "=") { length -= 1 }
            if text[length - 1] == UInt8(ascii: "=") { length -= 1 }
        }
        let remainder = length % 4
        guard remainder != 1 else { return nil }
        let outLength = (length / 4) * 3 + (remainder == 0 ? 0 : remainder - 1)
        var buffer = allocator.buffer(capacity: outLength)
        let ok = self.decodeTable.withUnsafeBufferPointer { table -> Bool in
            var ok = true
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: outLength) { out in
                var i = 0
                var o = 0
                var accumulator: UInt32 = 0
                var bits = 0
                while i < length {
                    let value = table[Int(text[i])]
                    if value == 0xFF {
                        ok = false
                        return 0
                    }
                    accumulator = accumulator << 6 | UInt32(value)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        out[o] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits))
                        o += 1
                    }
                    i += 1
                }
                return o
            }
            return ok
        }
        return ok ? buffer : nil
    }
}

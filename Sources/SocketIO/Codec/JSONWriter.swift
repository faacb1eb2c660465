import NIOCore

/// Serializes ``JSONValue``s straight into a `ByteBuffer`, byte for byte as JavaScript's
/// `JSON.stringify` would.
struct JSONWriter {
    /// What to do with a `.binary`, which JSON cannot express.
    enum BinaryMode {
        /// Write `null` (serializing a binary without the packet encoder is a programming error).
        case null
        /// Write `null` and remember that a binary was seen.
        case detect
        /// Write `{"_placeholder":true,"num":N}` and collect the bytes in ``attachments``.
        case placeholders
    }

    var mode: BinaryMode
    /// The binaries replaced by placeholders, in placeholder order.
    var attachments: [ByteBuffer] = []
    /// Whether a binary was met in `.detect` mode.
    var sawBinary = false

    init(mode: BinaryMode) {
        self.mode = mode
    }

    mutating func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null:
            buffer.writeStaticString("null")
        case .bool(let bool):
            buffer.writeStaticString(bool ? "true" : "false")
        case .number(let number):
            Self.writeNumber(number, into: &buffer)
        case .string(let string):
            Self.writeString(string, into: &buffer)
        case .array(let elements):
            buffer.writeInteger(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if first {
                    first = false
                } else {
                    buffer.writeInteger(UInt8(ascii: ","))
                }
                self.write(element, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let object):
            buffer.writeInteger(UInt8(ascii: "{"))
            var first = true
            for (key, member) in object {
                if first {
                    first = false
                } else {
                    buffer.writeInteger(UInt8(ascii: ","))
                }
                Self.writeString(key, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                self.write(member, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        case .binary(let bytes):
            switch self.mode {
            case .null:
                buffer.writeStaticString("null")
            case .detect:
                self.sawBinary = true
                buffer.writeStaticString("null")
            case .placeholders:
                buffer.writeStaticString(#"{"_placeholder":true,"num":"#)
                Self.writeDecimal(UInt64(self.attachments.count), into: &buffer)
                buffer.writeInteger(UInt8(ascii: "}"))
                self.attachments.append(bytes)
            }
        }
    }

    // MARK: - Strings

    /// Writes a quoted string, escaping only `"`, `\` and U+0000–U+001F, as `JSON.stringify` does.
    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        var string = string
        string.withUTF8 { utf8 in
            Self.writeString(utf8: UnsafeRawBufferPointer(utf8), into: &buffer)
        }
    }

    static func writeString(utf8: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: utf8.count &+ 2)
        buffer.writeInteger(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        let count = utf8.count
        while i < count {
            let b = utf8[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                i &+= 1
                continue
            }
            if runStart < i {
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: utf8[runStart..<i]))
            }
            Self.writeEscape(for: b, into: &buffer)
            i &+= 1
            runStart = i
        }
        if runStart < count {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: utf8[runStart..<count]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static func writeEscape(for b: UInt8, into buffer: inout ByteBuffer) {
        switch b {
        case UInt8(ascii: "\""): buffer.writeStaticString(#"\""#)
        case UInt8(ascii: "\\"): buffer.writeStaticString(#"\\"#)
        case 0x08: buffer.writeStaticString(#"\b"#)
        case 0x09: buffer.writeStaticString(#"\t"#)
        case 0x0A: buffer.writeStaticString(#"\n"#)
        case 0x0C: buffer.writeStaticString(#"\f"#)
        case 0x0D: buffer.writeStaticString(#"\r"#)
        default:
            let hex: StaticString = "0123456789abcdef"
            buffer.writeStaticString(#"\u00"#)
            buffer.writeInteger(hex.utf8Start[Int(b >> 4)])
            buffer.writeInteger(hex.utf8Start[Int(b & 0x0F)])
        }
    }

    // MARK: - Numbers

    /// Writes the decimal digits of `value`.
    static func writeDecimal(_ value: UInt64, into buffer: inout ByteBuffer) {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits &+= 1
        }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { out in
            var rest = value
            var i = digits
            repeat {
                i &-= 1
                out[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while i > 0
            return digits
        }
    }

    /// Writes a signed integer in decimal.
    static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        if value < 0 {
            buffer.writeInteger(UInt8(ascii: "-"))
        }
        Self.writeDecimal(value.magnitude.toUInt64, into: &buffer)
    }

    /// Writes a number as JavaScript's `Number.prototype.toString` does (ECMA-262 Number::toString):
    /// integers below 1e21 in full, otherwise the shortest round-trip digits, in exponent form
    /// outside 1e-7 ..< 1e21. Non-finite numbers are `null`, as in `JSON.stringify`.
    static func writeNumber(_ value: Double, into buffer: inout ByteBuffer) {
        guard value.isFinite else {
            buffer.writeStaticString("null")
            return
        }
        // Integers of up to 53 bits: the digits are exact (and -0 prints as "0").
        if value.magnitude < 9_007_199_254_740_992, value.rounded(.towardZero) == value {
            Self.writeDecimal(Int(value), into: &buffer)
            return
        }
        if value < 0 {
            buffer.writeInteger(UInt8(ascii: "-"))
        }
        // The standard library prints the shortest digits that round-trip, choosing the closest
        // when several do, which is the digit string ECMA-262 asks for; only the layout differs.
        var description = value.magnitude.description
        description.withUTF8 { text in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
                var k = 0
                var pointPosition = -1
                var exponent = 0
                var i = 0
                // Mantissa: digits with an optional point.
                while i < text.count {
                    let c = text[i]
                    if c == UInt8(ascii: ".") {
                        pointPosition = k
                    } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                        break
                    } else if k < digits.count {
                        digits[k] = c
                        k &+= 1
                    }
                    i &+= 1
                }
                if pointPosition < 0 { pointPosition = k }
                // Exponent: e[+-]digits.
                if i < text.count {
                    i &+= 1
                    var negative = false
                    if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
                        negative = text[i] == UInt8(ascii: "-")
                        i &+= 1
                    }
                    while i < text.count {
                        exponent = exponent &* 10 &+ Int(text[i] &- UInt8(ascii: "0"))
                        i &+= 1
                    }
                    if negative { exponent = -exponent }
                }
                // value = 0.d1d2…dk × 10^n with d1 ≠ 0 and dk ≠ 0.
                var leading = 0
                while leading < k, digits[leading] == UInt8(ascii: "0") { leading &+= 1 }
                var end = k
                while end > leading, digits[end &- 1] == UInt8(ascii: "0") { end &-= 1 }
                let n = pointPosition &+ exponent &- leading
                let s = UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: digits[leading..<end]))
                Self.writeJavaScriptLayout(digits: s, n: n, into: &buffer)
            }
        }
    }

    /// Lays out digits `s` (k of them) of the value 0.s × 10^n per ECMA-262 Number::toString.
    private static func writeJavaScriptLayout(digits s: UnsafeRawBufferPointer, n: Int, into buffer: inout ByteBuffer) {
        let k = s.count
        func zeros(_ count: Int, into buffer: inout ByteBuffer) {
            for _ in 0..<count { buffer.writeInteger(UInt8(ascii: "0")) }
        }
        if k <= n && n <= 21 {
            buffer.writeBytes(s)
            zeros(n &- k, into: &buffer)
        } else if 0 < n && n <= 21 {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: s[0..<n]))
            buffer.writeInteger(UInt8(ascii: "."))
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: s[n..<k]))
        } else if -6 < n && n <= 0 {
            buffer.writeStaticString("0.")
            zeros(-n, into: &buffer)
            buffer.writeBytes(s)
        } else {
            buffer.writeInteger(s[0])
            if k > 1 {
                buffer.writeInteger(UInt8(ascii: "."))
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: s[1..<k]))
            }
            let e = n &- 1
            buffer.writeInteger(UInt8(ascii: "e"))
            buffer.writeInteger(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            Self.writeDecimal(UInt64(e.magnitude), into: &buffer)
        }
    }
}

extension UInt {
    fileprivate var toUInt64: UInt64 { UInt64(self) }
}

import NIOCore

/// Serializes ``JSONValue``s byte for byte as JavaScript's `JSON.stringify` would.
///
/// Writing is done in two passes so that the `ByteBuffer` is touched once: ``measure(_:binaries:)``
/// computes an upper bound of the size (and counts the binaries), then ``write(_:to:)`` fills raw
/// memory that was reserved for it.
struct JSONWriter {
    /// What to do with a `.binary`, which JSON cannot express.
    enum BinaryMode {
        /// Write `null` (serializing a binary without the packet encoder is a programming error).
        case null
        /// Write `{"_placeholder":true,"num":N}` and collect the bytes in ``attachments``.
        case placeholders
    }

    /// The longest text a number can produce (`-1.2345678901234567e-308`, `-0.0000012345678901234567`).
    static let maxNumberLength = 26
    private static let placeholderPrefix: StaticString = #"{"_placeholder":true,"num":"#
    /// `{"_placeholder":true,"num":` + up to 20 digits + `}`.
    private static let maxPlaceholderLength = placeholderPrefix.utf8CodeUnitCount + 21

    private let mode: BinaryMode
    /// The binaries replaced by placeholders, in placeholder order.
    private(set) var attachments: [ByteBuffer] = []

    init(mode: BinaryMode) {
        self.mode = mode
    }

    // MARK: - Entry point

    /// Appends `value` to `buffer`.
    mutating func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
        var binaries = 0
        let bound = Self.measure(value, binaries: &binaries)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            var output = RawOutput(raw)
            self.write(value, to: &output)
            return output.count
        }
    }

    // MARK: - Pass 1: size

    /// An upper bound of the bytes `value` serializes to; adds the number of binaries to `binaries`.
    static func measure(_ value: JSONValue, binaries: inout Int) -> Int {
        switch value {
        case .null:
            return 4
        case .bool(let bool):
            return bool ? 4 : 5
        case .number(let number):
            if number.magnitude < 9_007_199_254_740_992, number.rounded(.towardZero) == number {
                return Self.decimalLength(Int(number))
            }
            return Self.maxNumberLength
        case .string(let string):
            return Self.measure(string)
        case .array(let elements):
            var size = 2 &+ Swift.max(0, elements.count &- 1)
            for element in elements {
                size &+= Self.measure(element, binaries: &binaries)
            }
            return size
        case .object(let object):
            var size = 2 &+ Swift.max(0, object.count &- 1)
            for (key, member) in object {
                size &+= Self.measure(key) &+ 1 &+ Self.measure(member, binaries: &binaries)
            }
            return size
        case .binary:
            binaries &+= 1
            return Self.maxPlaceholderLength
        }
    }

    /// An upper bound of the quoted, escaped string: 2 quotes, its bytes, 5 more per escaped byte.
    static func measure(_ string: String) -> Int {
        let length = string.utf8.withContiguousStorageIfAvailable { utf8 in
            Self.measureEscaped(UnsafeRawBufferPointer(utf8))
        }
        if let length { return length }
        return Array(string.utf8).withUnsafeBytes { Self.measureEscaped($0) }
    }

    private static func measureEscaped(_ utf8: UnsafeRawBufferPointer) -> Int {
        var size = utf8.count &+ 2
        var i = Self.firstEscapeCandidate(utf8, from: 0)
        while i < utf8.count {
            if Self.needsEscape(utf8[i]) { size &+= 5 }
            i = Self.firstEscapeCandidate(utf8, from: i &+ 1)
        }
        return size
    }

    /// The index of the first byte at or after `start` that may need escaping, found eight bytes
    /// at a time; a returned index may be a false lead inside a word, never past a real one.
    @inline(__always)
    private static func firstEscapeCandidate(_ utf8: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard let base = utf8.baseAddress else { return 0 }
        let count = utf8.count
        var i = start
        while i &+ 8 <= count {
            if Self.needsEscape(base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                // Find the byte within the word.
                while !Self.needsEscape(utf8[i]) { i &+= 1 }
                return i
            }
            i &+= 8
        }
        let tail = count &- i
        guard tail > 0 else { return count }
        // Fill the unused bytes of the last word with a harmless letter.
        var word: UInt64 = 0x4141_4141_4141_4141
        withUnsafeMutableBytes(of: &word) { $0.baseAddress!.copyMemory(from: base + i, byteCount: tail) }
        guard Self.needsEscape(word) else { return count }
        while i < count, !Self.needsEscape(utf8[i]) { i &+= 1 }
        return i
    }

    /// Whether any of eight bytes is `"`, `\` or below 0x20 (SWAR, exact). The three "has a byte
    /// below / equal to" tests share their final mask, as all three targets are ASCII.
    @inline(__always)
    private static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let below = word &- 0x2020_2020_2020_2020
        let quote = (word ^ 0x2222_2222_2222_2222) &- ones
        let backslash = (word ^ 0x5C5C_5C5C_5C5C_5C5C) &- ones
        return (below | quote | backslash) & ~word & 0x8080_8080_8080_8080 != 0
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    // MARK: - Pass 2: bytes

    /// Writes `value` to memory that has room for at least `measure(value)` bytes.
    mutating func write(_ value: JSONValue, to output: inout RawOutput) {
        switch value {
        case .null:
            output.append("null")
        case .bool(let bool):
            output.append(bool ? "true" : "false")
        case .number(let number):
            Self.writeNumber(number, to: &output)
        case .string(let string):
            Self.writeString(string, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if first {
                    first = false
                } else {
                    output.append(UInt8(ascii: ","))
                }
                self.write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in object {
                if first {
                    first = false
                } else {
                    output.append(UInt8(ascii: ","))
                }
                Self.writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                self.write(member, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .binary(let bytes):
            switch self.mode {
            case .null:
                output.append("null")
            case .placeholders:
                output.append(Self.placeholderPrefix)
                Self.writeDecimal(UInt64(self.attachments.count), to: &output)
                output.append(UInt8(ascii: "}"))
                self.attachments.append(bytes)
            }
        }
    }

    // MARK: - Strings

    /// Writes a quoted string, escaping only `"`, `\` and U+0000–U+001F, as `JSON.stringify` does.
    static func writeString(_ string: String, to output: inout RawOutput) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { utf8 in
            Self.writeEscaped(UnsafeRawBufferPointer(utf8), to: &output)
        }
        if done == nil {
            Array(string.utf8).withUnsafeBytes { Self.writeEscaped($0, to: &output) }
        }
    }

    private static func writeEscaped(_ utf8: UnsafeRawBufferPointer, to output: inout RawOutput) {
        output.append(UInt8(ascii: "\""))
        let count = utf8.count
        guard let base = utf8.baseAddress else {
            output.append(UInt8(ascii: "\""))
            return
        }
        var runStart = 0
        var i = Self.firstEscapeCandidate(utf8, from: 0)
        while i < count {
            let b = utf8[i]
            if Self.needsEscape(b) {
                output.append(base + runStart, count: i &- runStart)
                Self.writeEscape(for: b, to: &output)
                runStart = i &+ 1
            }
            i = Self.firstEscapeCandidate(utf8, from: i &+ 1)
        }
        output.append(base + runStart, count: count &- runStart)
        output.append(UInt8(ascii: "\""))
    }

    private static func writeEscape(for b: UInt8, to output: inout RawOutput) {
        switch b {
        case UInt8(ascii: "\""): output.append(#"\""#)
        case UInt8(ascii: "\\"): output.append(#"\\"#)
        case 0x08: output.append(#"\b"#)
        case 0x09: output.append(#"\t"#)
        case 0x0A: output.append(#"\n"#)
        case 0x0C: output.append(#"\f"#)
        case 0x0D: output.append(#"\r"#)
        default:
            let hex: StaticString = "0123456789abcdef"
            output.append(#"\u00"#)
            output.append(hex.utf8Start[Int(b >> 4)])
            output.append(hex.utf8Start[Int(b & 0x0F)])
        }
    }

    // MARK: - Numbers

    /// The number of bytes `value` takes in decimal, with its sign.
    static func decimalLength(_ value: Int) -> Int {
        var digits = value < 0 ? 2 : 1
        var rest = value.magnitude
        while rest >= 10 {
            rest /= 10
            digits &+= 1
        }
        return digits
    }

    /// Writes the decimal digits of `value`.
    static func writeDecimal(_ value: UInt64, to output: inout RawOutput) {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits &+= 1
        }
        rest = value
        var i = digits
        repeat {
            i &-= 1
            output.pointer[output.count &+ i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while i > 0
        output.count &+= digits
    }

    /// Writes a signed integer in decimal.
    static func writeDecimal(_ value: Int, to output: inout RawOutput) {
        if value < 0 {
            output.append(UInt8(ascii: "-"))
        }
        Self.writeDecimal(UInt64(value.magnitude), to: &output)
    }

    /// Writes a number as JavaScript's `Number.prototype.toString` does (ECMA-262 Number::toString):
    /// integers below 1e21 in full, otherwise the shortest round-trip digits, in exponent form
    /// outside 1e-7 ..< 1e21. Non-finite numbers are `null`, as in `JSON.stringify`.
    static func writeNumber(_ value: Double, to output: inout RawOutput) {
        guard value.isFinite else {
            output.append("null")
            return
        }
        // Integers of up to 53 bits: the digits are exact (and -0 prints as "0").
        if value.magnitude < 9_007_199_254_740_992, value.rounded(.towardZero) == value {
            Self.writeDecimal(Int(value), to: &output)
            return
        }
        if value < 0 {
            output.append(UInt8(ascii: "-"))
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
                Self.writeJavaScriptLayout(digits: s, n: n, to: &output)
            }
        }
    }

    /// Lays out digits `s` (k of them) of the value 0.s × 10^n per ECMA-262 Number::toString.
    private static func writeJavaScriptLayout(digits s: UnsafeRawBufferPointer, n: Int, to output: inout RawOutput) {
        let k = s.count
        let base = s.baseAddress!
        if k <= n && n <= 21 {
            output.append(base, count: k)
            output.appendZeros(n &- k)
        } else if 0 < n && n <= 21 {
            output.append(base, count: n)
            output.append(UInt8(ascii: "."))
            output.append(base + n, count: k &- n)
        } else if -6 < n && n <= 0 {
            output.append("0.")
            output.appendZeros(-n)
            output.append(base, count: k)
        } else {
            output.append(s[0])
            if k > 1 {
                output.append(UInt8(ascii: "."))
                output.append(base + 1, count: k &- 1)
            }
            let e = n &- 1
            output.append(UInt8(ascii: "e"))
            output.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            Self.writeDecimal(UInt64(e.magnitude), to: &output)
        }
    }
}

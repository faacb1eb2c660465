import NIOCore

// Small byte helpers for the hot paths: no JSON parser, no String, no allocation.

enum ASCII {
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let one = UInt8(ascii: "1")
    static let two = UInt8(ascii: "2")
    static let three = UInt8(ascii: "3")
    static let four = UInt8(ascii: "4")
    static let six = UInt8(ascii: "6")
    static let quote = UInt8(ascii: "\"")
    static let dot = UInt8(ascii: ".")
    static let minus = UInt8(ascii: "-")
    static let recordSeparator: UInt8 = 0x1E
}

extension ByteBuffer {
    /// Writes `value` in decimal.
    @inline(__always)
    mutating func writeDecimal(_ value: UInt64) {
        var digits = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { raw in
            var v = value
            var i = digits - 1
            while i >= 0 {
                raw[i] = ASCII.zero &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
                i -= 1
            }
            return digits
        }
    }

    /// Writes `count` copies of one byte.
    mutating func writeRepeating(_ byte: UInt8, count: Int) {
        guard count > 0 else { return }
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            raw.baseAddress!.initializeMemory(as: UInt8.self, repeating: byte, count: count)
            return count
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Index of the first occurrence of `needle` at or after `from`, or nil.
    @inline(__always)
    func find(_ needle: StaticString, from: Int = 0) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard n > 0, self.count - from >= n else { return nil }
        let first = needle.utf8Start.pointee
        var i = from
        let last = self.count - n
        while i <= last {
            if self[i] == first && self.matches(needle, at: i) { return i }
            i += 1
        }
        return nil
    }

    @inline(__always)
    func matches(_ needle: StaticString, at offset: Int) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard offset >= 0, self.count - offset >= n else { return false }
        let p = needle.utf8Start
        for k in 0..<n where self[offset + k] != p[k] {
            return false
        }
        return true
    }

    /// Decimal digits at `offset` (nil when there are none). `end` is the index after the last digit.
    @inline(__always)
    func parseUInt(at offset: Int) -> (value: UInt64, end: Int)? {
        var i = offset
        var value: UInt64 = 0
        while i < self.count {
            let b = self[i]
            guard b >= ASCII.zero && b <= ASCII.nine else { break }
            value = value &* 10 &+ UInt64(b &- ASCII.zero)
            i += 1
        }
        return i == offset ? nil : (value, i)
    }

    /// A JSON number of milliseconds at `offset`, returned in microseconds (nil if not a number).
    /// Plain decimals ("1732300000123.456") are read without Double; other forms go through Double.
    func parseMillisAsMicros(at offset: Int) -> UInt64? {
        guard let (whole, end) = parseUInt(at: offset) else { return nil }
        var micros = whole &* 1000
        var i = end
        if i < self.count && self[i] == ASCII.dot {
            i += 1
            var scale: UInt64 = 100
            while i < self.count, self[i] >= ASCII.zero, self[i] <= ASCII.nine {
                micros &+= UInt64(self[i] &- ASCII.zero) &* scale
                scale /= 10
                i += 1
            }
        }
        if i < self.count, self[i] == UInt8(ascii: "e") || self[i] == UInt8(ascii: "E") {
            // Exponent form: rare, so the slow path is fine.
            var j = i + 1
            while j < self.count, self[j] != UInt8(ascii: ",") && self[j] != UInt8(ascii: "}") { j += 1 }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: self[offset..<j]), as: UTF8.self)
            guard let ms = Double(text), ms >= 0 else { return nil }
            return UInt64(ms * 1000)
        }
        return micros
    }
}

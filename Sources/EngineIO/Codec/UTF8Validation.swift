/// A fast, allocation-free UTF-8 validator shared by the Engine.IO and Socket.IO codecs.
///
/// Well-formed means exactly what the Unicode standard (table 3-7) allows: no overlong forms,
/// no surrogates, nothing above U+10FFFF, no truncated sequences.
package enum UTF8Validation {
    /// Whether `bytes` are well-formed UTF-8.
    @inlinable
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            // Skip ASCII eight bytes at a time.
            while i &+ 8 <= count,
                  base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i &+= 8
            }
            guard i < count else { return true }
            let b0 = base.load(fromByteOffset: i, as: UInt8.self)
            if b0 < 0x80 {
                i &+= 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return false
            }
            guard i &+ length <= count else { return false }
            let b1 = base.load(fromByteOffset: i &+ 1, as: UInt8.self)
            guard b1 >= lower, b1 <= upper else { return false }
            var k = 2
            while k < length {
                let b = base.load(fromByteOffset: i &+ k, as: UInt8.self)
                guard b & 0xC0 == 0x80 else { return false }
                k &+= 1
            }
            i &+= length
        }
        return true
    }
}

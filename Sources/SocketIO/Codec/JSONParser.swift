import EngineIO

/// A strict RFC 8259 parser over UTF-8 bytes.
///
/// It never recurses: open arrays and objects live on explicit stacks, so the nesting limit is
/// the only bound on input depth. Unescaped runs inside strings become `String`s in one copy;
/// only strings with escapes go through a scratch buffer.
struct JSONParser {
    private let base: UnsafeRawPointer
    private let count: Int
    private let maxDepth: Int
    private let validateUTF8: Bool
    private var offset: Int = 0
    private var scratch: [UInt8] = []

    private init(base: UnsafeRawPointer, count: Int, maxDepth: Int, validateUTF8: Bool) {
        self.base = base
        self.count = count
        self.maxDepth = maxDepth
        self.validateUTF8 = validateUTF8
    }

    /// Parses one JSON document filling all of `bytes`.
    ///
    /// - Parameter validateUTF8: `false` when the bytes are known to be valid UTF-8 (they came
    ///   from a `String`).
    static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int, validateUTF8: Bool) throws(JSONError) -> JSONValue {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw .unexpectedEnd }
        var parser = JSONParser(base: base, count: bytes.count, maxDepth: maxDepth, validateUTF8: validateUTF8)
        // The stacks start on the machine stack; only unusually wide or deep documents reach the heap.
        return try withUnsafeTemporaryAllocation(of: JSONValue.self, capacity: 32) { valueStorage in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 16) { frameStorage in
                Result { () throws(JSONError) -> JSONValue in
                    var values = UnsafeStack(storage: valueStorage)
                    var frames = UnsafeStack(storage: frameStorage)
                    defer {
                        values.deallocate()
                        frames.deallocate()
                    }
                    return try parser.parseDocument(values: &values, frames: &frames)
                }
            }
        }.get()
    }

    // MARK: - Structure

    /// Parses one document. Open containers are `frames` (start index in `values` × 2, plus 1 for
    /// objects); their members so far are on `values`, object keys interleaved as `.string`s.
    private mutating func parseDocument(
        values: inout UnsafeStack<JSONValue>,
        frames: inout UnsafeStack<Int>
    ) throws(JSONError) -> JSONValue {
        nextValue: while true {
            self.skipWhitespace()
            guard self.offset < self.count else { throw .unexpectedEnd }
            var value: JSONValue
            switch self.byte(at: self.offset) {
            case UInt8(ascii: "{"):
                guard frames.count < self.maxDepth else { throw .tooDeep }
                self.offset &+= 1
                self.skipWhitespace()
                guard self.offset < self.count else { throw .unexpectedEnd }
                if self.byte(at: self.offset) == UInt8(ascii: "}") {
                    self.offset &+= 1
                    value = .object(JSONObject())
                } else {
                    frames.push(values.count << 1 | 1)
                    values.push(.string(try self.parseKey()))
                    continue nextValue
                }
            case UInt8(ascii: "["):
                guard frames.count < self.maxDepth else { throw .tooDeep }
                self.offset &+= 1
                self.skipWhitespace()
                guard self.offset < self.count else { throw .unexpectedEnd }
                if self.byte(at: self.offset) == UInt8(ascii: "]") {
                    self.offset &+= 1
                    value = .array([])
                } else {
                    frames.push(values.count << 1)
                    continue nextValue
                }
            case UInt8(ascii: "\""):
                value = .string(try self.parseString())
            case UInt8(ascii: "t"):
                try self.expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try self.expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try self.expectLiteral("null")
                value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try self.parseNumber())
            default:
                throw .unexpectedCharacter(offset: self.offset)
            }

            // A value is complete: hand it to the enclosing containers, closing those that end.
            while true {
                guard frames.count > 0 else {
                    self.skipWhitespace()
                    guard self.offset == self.count else { throw .trailingCharacters(offset: self.offset) }
                    return value
                }
                let frame = frames.top
                values.push(value)
                self.skipWhitespace()
                guard self.offset < self.count else { throw .unexpectedEnd }
                let separator = self.byte(at: self.offset)
                self.offset &+= 1
                let start = frame >> 1
                if frame & 1 == 1 {
                    if separator == UInt8(ascii: ",") {
                        values.push(.string(try self.parseKey()))
                        continue nextValue
                    }
                    guard separator == UInt8(ascii: "}") else { throw .unexpectedCharacter(offset: self.offset &- 1) }
                    var object = JSONObject()
                    object.entries.reserveCapacity((values.count &- start) >> 1)
                    var i = start
                    while i < values.count {
                        guard case .string(let key) = values.move(at: i) else { preconditionFailure("key slot") }
                        object.set(key, values.move(at: i &+ 1))
                        i &+= 2
                    }
                    values.forgetElements(from: start)
                    value = .object(object)
                } else {
                    if separator == UInt8(ascii: ",") {
                        continue nextValue
                    }
                    guard separator == UInt8(ascii: "]") else { throw .unexpectedCharacter(offset: self.offset &- 1) }
                    value = .array(values.popArray(from: start))
                }
                frames.removeLast()
            }
        }
    }

    /// Parses `"key"` and the `:` after it.
    private mutating func parseKey() throws(JSONError) -> String {
        self.skipWhitespace()
        guard self.offset < self.count else { throw .unexpectedEnd }
        guard self.byte(at: self.offset) == UInt8(ascii: "\"") else { throw .unexpectedCharacter(offset: self.offset) }
        let key = try self.parseString()
        self.skipWhitespace()
        guard self.offset < self.count else { throw .unexpectedEnd }
        guard self.byte(at: self.offset) == UInt8(ascii: ":") else { throw .unexpectedCharacter(offset: self.offset) }
        self.offset &+= 1
        return key
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let length = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for i in 0..<length {
            guard self.offset &+ i < self.count else { throw .unexpectedEnd }
            guard self.byte(at: self.offset &+ i) == start[i] else {
                throw .unexpectedCharacter(offset: self.offset &+ i)
            }
        }
        self.offset &+= length
    }

    @inline(__always)
    private func byte(at offset: Int) -> UInt8 {
        self.base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while self.offset < self.count {
            switch self.byte(at: self.offset) {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                self.offset &+= 1
            default:
                return
            }
        }
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONError) -> String {
        self.offset &+= 1
        let start = self.offset
        var highBits: UInt8 = 0
        while self.offset < self.count {
            let b = self.byte(at: self.offset)
            if b == UInt8(ascii: "\"") {
                let string = try self.makeString(from: start, to: self.offset, nonASCII: highBits & 0x80 != 0)
                self.offset &+= 1
                return string
            }
            if b == UInt8(ascii: "\\") {
                return try self.parseEscapedString(runStart: start, highBits: highBits)
            }
            if b < 0x20 { throw .unexpectedCharacter(offset: self.offset) }
            highBits |= b
            self.offset &+= 1
        }
        throw .unexpectedEnd
    }

    private func makeString(from start: Int, to end: Int, nonASCII: Bool) throws(JSONError) -> String {
        let bytes = UnsafeRawBufferPointer(start: self.base + start, count: end &- start)
        if nonASCII, self.validateUTF8, !UTF8Validation.isValid(bytes) { throw .invalidUTF8 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The slow path: a string with escapes, assembled in `scratch`. `offset` is at the first `\`;
    /// `highBits` are the bits of the bytes before it (so their UTF-8 is still checked).
    private mutating func parseEscapedString(runStart: Int, highBits: UInt8) throws(JSONError) -> String {
        self.scratch.removeAll(keepingCapacity: true)
        var runStart = runStart
        var highBits = highBits
        while self.offset < self.count {
            let b = self.byte(at: self.offset)
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                self.scratch.append(contentsOf: UnsafeRawBufferPointer(start: self.base + runStart, count: self.offset &- runStart))
                if b == UInt8(ascii: "\"") {
                    self.offset &+= 1
                    if highBits & 0x80 != 0, self.validateUTF8 {
                        let valid = self.scratch.withUnsafeBytes { UTF8Validation.isValid($0) }
                        guard valid else { throw .invalidUTF8 }
                    }
                    return String(decoding: self.scratch, as: UTF8.self)
                }
                try self.parseEscape()
                runStart = self.offset
                continue
            }
            if b < 0x20 { throw .unexpectedCharacter(offset: self.offset) }
            highBits |= b
            self.offset &+= 1
        }
        throw .unexpectedEnd
    }

    /// Decodes the escape at `offset` (a `\`) into `scratch`.
    private mutating func parseEscape() throws(JSONError) {
        let escapeStart = self.offset
        guard self.offset &+ 1 < self.count else { throw .unexpectedEnd }
        let c = self.byte(at: self.offset &+ 1)
        self.offset &+= 2
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): self.scratch.append(c)
        case UInt8(ascii: "b"): self.scratch.append(0x08)
        case UInt8(ascii: "f"): self.scratch.append(0x0C)
        case UInt8(ascii: "n"): self.scratch.append(0x0A)
        case UInt8(ascii: "r"): self.scratch.append(0x0D)
        case UInt8(ascii: "t"): self.scratch.append(0x09)
        case UInt8(ascii: "u"):
            guard let unit = self.hex4(at: self.offset) else {
                if self.offset &+ 4 > self.count { throw .unexpectedEnd }
                throw .invalidEscape(offset: escapeStart)
            }
            self.offset &+= 4
            var scalar = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate counts only when a low one follows; otherwise it stands alone.
                if self.offset &+ 6 <= self.count,
                   self.byte(at: self.offset) == UInt8(ascii: "\\"),
                   self.byte(at: self.offset &+ 1) == UInt8(ascii: "u"),
                   let low = self.hex4(at: self.offset &+ 2),
                   (0xDC00...0xDFFF).contains(low) {
                    self.offset &+= 6
                    scalar = 0x10000 &+ ((UInt32(unit) &- 0xD800) << 10) &+ (UInt32(low) &- 0xDC00)
                } else {
                    scalar = 0xFFFD
                }
            } else if (0xDC00...0xDFFF).contains(unit) {
                scalar = 0xFFFD
            }
            self.appendUTF8(scalar)
        default:
            throw .invalidEscape(offset: escapeStart)
        }
    }

    private func hex4(at offset: Int) -> UInt16? {
        guard offset &+ 4 <= self.count else { return nil }
        var value: UInt16 = 0
        for i in 0..<4 {
            let b = self.byte(at: offset &+ i)
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            self.scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            self.scratch.append(UInt8(0xC0 | scalar >> 6))
            self.scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            self.scratch.append(UInt8(0xE0 | scalar >> 12))
            self.scratch.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            self.scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            self.scratch.append(UInt8(0xF0 | scalar >> 18))
            self.scratch.append(UInt8(0x80 | (scalar >> 12) & 0x3F))
            self.scratch.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            self.scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: - Numbers

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, correctly rounded.
    ///
    /// Up to 15 significant digits with a decimal exponent within ±22 are converted exactly with a
    /// single multiplication or division; everything else goes through the standard library.
    private mutating func parseNumber() throws(JSONError) -> Double {
        let start = self.offset
        var negative = false
        if self.byte(at: self.offset) == UInt8(ascii: "-") {
            negative = true
            self.offset &+= 1
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var decimalExponent = 0
        var truncated = false

        guard self.offset < self.count else { throw .invalidNumber(offset: start) }
        let first = self.byte(at: self.offset)
        if first == UInt8(ascii: "0") {
            self.offset &+= 1
            if self.offset < self.count, Self.isDigit(self.byte(at: self.offset)) {
                throw .invalidNumber(offset: start)
            }
        } else if Self.isDigit(first) {
            while self.offset < self.count {
                let b = self.byte(at: self.offset)
                guard Self.isDigit(b) else { break }
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(b &- UInt8(ascii: "0"))
                    significantDigits &+= 1
                } else {
                    decimalExponent &+= 1
                    truncated = true
                }
                self.offset &+= 1
            }
        } else {
            throw .invalidNumber(offset: start)
        }

        if self.offset < self.count, self.byte(at: self.offset) == UInt8(ascii: ".") {
            self.offset &+= 1
            guard self.offset < self.count, Self.isDigit(self.byte(at: self.offset)) else {
                throw .invalidNumber(offset: start)
            }
            while self.offset < self.count {
                let b = self.byte(at: self.offset)
                guard Self.isDigit(b) else { break }
                let digit = UInt64(b &- UInt8(ascii: "0"))
                if mantissa == 0 && digit == 0 {
                    decimalExponent &-= 1
                } else if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ digit
                    significantDigits &+= 1
                    decimalExponent &-= 1
                } else {
                    truncated = true
                }
                self.offset &+= 1
            }
        }

        if self.offset < self.count, self.byte(at: self.offset) | 0x20 == UInt8(ascii: "e") {
            self.offset &+= 1
            var exponentNegative = false
            if self.offset < self.count {
                let sign = self.byte(at: self.offset)
                if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                    exponentNegative = sign == UInt8(ascii: "-")
                    self.offset &+= 1
                }
            }
            guard self.offset < self.count, Self.isDigit(self.byte(at: self.offset)) else {
                throw .invalidNumber(offset: start)
            }
            var exponent = 0
            while self.offset < self.count {
                let b = self.byte(at: self.offset)
                guard Self.isDigit(b) else { break }
                if exponent < 1_000_000 {
                    exponent = exponent &* 10 &+ Int(b &- UInt8(ascii: "0"))
                }
                self.offset &+= 1
            }
            decimalExponent &+= exponentNegative ? -exponent : exponent
        }

        if mantissa == 0 && !truncated {
            return negative ? -0.0 : 0.0
        }
        if !truncated, significantDigits <= 15, decimalExponent >= -22, decimalExponent <= 22 {
            var value = Double(mantissa)
            if decimalExponent >= 0 {
                value *= Self.powersOfTen[decimalExponent]
            } else {
                value /= Self.powersOfTen[-decimalExponent]
            }
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeRawBufferPointer(start: self.base + start, count: self.offset &- start), as: UTF8.self)
        guard let value = Double(text) else { throw .invalidNumber(offset: start) }
        return value
    }

    @inline(__always)
    private static func isDigit(_ b: UInt8) -> Bool {
        b &- UInt8(ascii: "0") < 10
    }
}

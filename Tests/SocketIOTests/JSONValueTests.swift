import NIOCore
import SocketIO
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    // MARK: - Round trips

    /// Texts already in `JSON.stringify` form: parsing then serializing gives them back byte for byte.
    static let canonical: [String] = [
        "null", "true", "false", "0", "-1", "1.5", #""""#, #""abc""#, "[]", "{}",
        #"[1,"a",null,true,false,{},[]]"#,
        #"{"z":1,"a":{"y":[1,2,{"x":null}],"b":"c"},"m":[]}"#,
        #""héllo wörld €𝄞 日本 😀""#,
        #""line\nbreak \"quoted\" back\\slash \t\b\f\r \u0000\u0001\u001f""#,
        #""/ slash, DEL \#u{7F}, U+2028 \#u{2028}, U+2029 \#u{2029}""#,
        #"{"":"",".":0}"#,
        #"[[[[[[[[[[]]]]]]]]]]"#,
        #"[0.1,1e-7,1.5e+300,1e+21,-0.000001,123456789.125]"#,
    ]

    @Test(arguments: Self.canonical)
    func stringRoundTrip(_ text: String) throws {
        #expect(try JSONValue.parse(text).jsonString == text)
    }

    @Test(arguments: Self.canonical)
    func byteBufferRoundTrip(_ text: String) throws {
        let value = try JSONValue.parse(ByteBuffer(string: text))
        var buffer = ByteBuffer()
        value.write(into: &buffer)
        #expect(String(buffer: buffer) == text)
        #expect(try JSONValue.parse(text) == value)
    }

    @Test func parsesScalarsAndContainers() throws {
        #expect(try JSONValue.parse("null") == .null)
        #expect(try JSONValue.parse(" true ") == .bool(true))
        #expect(try JSONValue.parse("\t\r\nfalse\n") == .bool(false))
        #expect(try JSONValue.parse("42") == .number(42))
        #expect(try JSONValue.parse(#""s""#) == .string("s"))
        #expect(try JSONValue.parse(#"[1, "two" , [ ] ]"#) == [1, "two", []])
        #expect(try JSONValue.parse(#"{ "a" : { "b" : [ null ] } }"#) == ["a": ["b": [nil]]])
    }

    // MARK: - Strings

    @Test func decodesEscapes() throws {
        let parsed = try JSONValue.parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\u00E9\u20AC""#)
        #expect(parsed == .string("\"\\/\u{8}\u{C}\n\r\tAéé€"))
    }

    @Test func decodesSurrogates() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue.parse(#""\uD834\uDD1E x""#) == .string("𝄞 x"))
        // A lone surrogate becomes U+FFFD, and whatever follows is kept.
        #expect(try JSONValue.parse(#""\ud800""#) == .string("\u{FFFD}"))
        #expect(try JSONValue.parse(#""a\udc00b""#) == .string("a\u{FFFD}b"))
        #expect(try JSONValue.parse(#""\ud800\u0041""#) == .string("\u{FFFD}A"))
        #expect(try JSONValue.parse(#""\ud800\ud800\udc00""#) == .string("\u{FFFD}𐀀"))
        #expect(try JSONValue.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
        #expect(try JSONValue.parse(#""\udc00\ud800""#) == .string("\u{FFFD}\u{FFFD}"))
    }

    @Test func escapesOnlyWhatJSONStringifyEscapes() {
        var controls = ""
        for scalar in 0..<0x20 { controls.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        let expected = #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
            + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        #expect(JSONValue.string(controls).jsonString == expected)
        #expect(JSONValue.string("\"\\/<>&'\u{7F}\u{2028}é").jsonString == "\"\\\"\\\\/<>&'\u{7F}\u{2028}é\"")
    }

    @Test func escapingMatchesAReferenceAtEveryPositionAndLength() throws {
        // Exercises the word-at-a-time scan: specials at every offset of strings of every short length.
        func reference(_ string: String) -> String {
            var out = "\""
            for scalar in string.unicodeScalars {
                let unit = scalar.value
                switch unit {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x08: out += "\\b"
                case 0x09: out += "\\t"
                case 0x0A: out += "\\n"
                case 0x0C: out += "\\f"
                case 0x0D: out += "\\r"
                case 0..<0x20:
                    let hex = Array("0123456789abcdef")
                    out += "\\u00" + String(hex[Int(unit >> 4)]) + String(hex[Int(unit & 0xF)])
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        for length in 0..<24 {
            for special in ["\"", "\\", "\n", "\u{1}", "\u{1F}", " ", "\u{7F}", "é"] {
                for position in 0...length {
                    var characters = Array(repeating: "a", count: length)
                    characters.insert(special, at: position)
                    let string = characters.joined()
                    #expect(JSONValue.string(string).jsonString == reference(string), "\(length) \(position)")
                    #expect(try JSONValue.parse(JSONValue.string(string).jsonString) == .string(string))
                }
            }
        }
    }

    @Test func errorsAfterTheParserStacksGrewAreReported() {
        let wide = "[" + (0..<100).map { #""s\#($0)""# }.joined(separator: ",") + ",]"
        #expect(throws: JSONError.unexpectedCharacter(offset: wide.utf8.count - 1)) { try JSONValue.parse(wide) }
        let deep = String(repeating: #"{"k":["#, count: 40) + "1]x"
        #expect(throws: JSONError.unexpectedCharacter(offset: deep.utf8.count - 1)) { try JSONValue.parse(deep) }
    }

    @Test func longStringsWithEscapesSurviveARoundTrip() throws {
        let original = String(repeating: "abc\"déf\\\n😀", count: 1000)
        let text = JSONValue.string(original).jsonString
        #expect(try JSONValue.parse(text) == .string(original))
        #expect(try JSONValue.parse(ByteBuffer(string: text)) == .string(original))
    }

    // MARK: - Numbers

    @Test(arguments: [
        "0", "-0", "1", "-1", "0.5", "1.5", "-2.25", "1e2", "1E2", "1e+2", "1e-2", "1.25e-10", "0.1", "0.2", "0.3",
        "123456789012345", "1234567890123456", "12345678901234567890", "123456789012345678901234567890",
        "9007199254740993", "9007199254740995", "0.30000000000000004", "3.141592653589793238462643383279",
        "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "1e22", "1e23", "1e-22", "1e-23",
        "0.000000000000000000000000000001", "100000000000000000000000", "8.41e21", "7.3177701707893310e15",
        "0.0000012345", "5e-1", "1e400", "-1e400", "1e-400", "2e308", "123.456e-300",
    ])
    func numbersParseAsTheStandardLibraryDoes(_ text: String) throws {
        let parsed = try #require(try JSONValue.parse(text).doubleValue)
        let expected = try #require(Double(text))
        #expect(parsed.bitPattern == expected.bitPattern, "\(text): \(parsed) vs \(expected)")
    }

    @Test func generatedNumbersParseExactly() throws {
        // Deterministic pseudo-random mantissas and exponents exercise both conversion paths.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        for _ in 0..<5000 {
            let digits = String(next() % 100_000_000_000_000_000)
            let point = Int(next() % UInt64(digits.count + 1))
            var text = String(digits.prefix(point)).isEmpty ? "0" : String(digits.prefix(point))
            if text.count > 1 && text.hasPrefix("0") { text = "1" + text }
            let fraction = digits.dropFirst(point)
            if !fraction.isEmpty { text += "." + fraction }
            if next() % 2 == 0 { text += "e" + String(Int(next() % 60) - 30) }
            let expected = try #require(Double(text))
            let parsed = try JSONValue.parse(text).doubleValue
            #expect(parsed?.bitPattern == expected.bitPattern, "\(text)")
        }
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let parsed = try #require(try JSONValue.parse("-0").doubleValue)
        #expect(parsed == 0 && parsed.sign == .minus)
        #expect(try JSONValue.parse("-0.0e5").doubleValue?.sign == .minus)
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (100, "100"), (1.5, "1.5"), (-2.25, "-2.25"),
        (0.1, "0.1"), (0.1 + 0.2, "0.30000000000000004"), (1.0 / 3.0, "0.3333333333333333"), (123.456, "123.456"),
        (1e-6, "0.000001"), (1.2345e-6, "0.0000012345"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (-3e-10, "-3e-10"),
        (5e-324, "5e-324"), (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (9_007_199_254_740_991, "9007199254740991"), (9_007_199_254_740_992, "9007199254740992"),
        (18_446_744_073_709_551_616, "18446744073709552000"), (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"), (123_456_789_012_345_680_000, "123456789012345680000"),
        (1e21, "1e+21"), (1.5e300, "1.5e+300"), (-1.2345e25, "-1.2345e+25"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (-12_345_000_000_000, "-12345000000000"),
        (4.35, "4.35"), (0.5, "0.5"), (1234.5678, "1234.5678"),
        (Double.nan, "null"), (Double.infinity, "null"), (-Double.infinity, "null"),
    ] as [(Double, String)])
    func numbersSerializeAsJavaScriptDoes(_ value: Double, _ expected: String) {
        #expect(JSONValue.number(value).jsonString == expected)
    }

    @Test func serializedNumbersRoundTrip() throws {
        var state: UInt64 = 42
        for _ in 0..<5000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let value = Double(bitPattern: state)
            guard value.isFinite else { continue }
            let text = JSONValue.number(value).jsonString
            let reparsed = try JSONValue.parse(text).doubleValue
            #expect(reparsed == value, "\(value) → \(text)")
        }
    }

    // MARK: - Depth

    @Test func nestingUpToMaxDepthIsAccepted() throws {
        let arrays = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try JSONValue.parse(arrays).jsonString == arrays)
        let objects = String(repeating: #"{"a":"#, count: 128) + "1" + String(repeating: "}", count: 128)
        #expect(try JSONValue.parse(objects).jsonString == objects)
        #expect(try JSONValue.parse("[[1]]", maxDepth: 2) == [[1]])
        #expect(try JSONValue.parse("7", maxDepth: 0) == 7)
    }

    @Test func nestingBeyondMaxDepthIsRejected() {
        let arrays = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: JSONError.tooDeep) { try JSONValue.parse(arrays) }
        let mixed = String(repeating: #"[{"a":"#, count: 65) + "1" + String(repeating: "}]", count: 65)
        #expect(throws: JSONError.tooDeep) { try JSONValue.parse(mixed) }
        #expect(throws: JSONError.tooDeep) { try JSONValue.parse("[[1]]", maxDepth: 1) }
        #expect(throws: JSONError.tooDeep) { try JSONValue.parse("{}", maxDepth: 0) }
    }

    @Test func hugeNestingFailsWithoutRecursion() {
        let text = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONError.tooDeep) { try JSONValue.parse(text) }
        #expect(throws: JSONError.unexpectedEnd) { try JSONValue.parse(text, maxDepth: .max) }
    }

    // MARK: - Malformed input

    @Test(arguments: [
        ("", JSONError.unexpectedEnd), ("   ", .unexpectedEnd), ("[", .unexpectedEnd), ("[1,", .unexpectedEnd),
        (#"{"a""#, .unexpectedEnd), (#"{"a":"#, .unexpectedEnd), (#""abc"#, .unexpectedEnd), ("tru", .unexpectedEnd),
        (#""\u12"#, .unexpectedEnd), (#""\"#, .unexpectedEnd),
        ("[1,]", .unexpectedCharacter(offset: 3)), (#"{"a":1,}"#, .unexpectedCharacter(offset: 7)),
        (#"{"a" 1}"#, .unexpectedCharacter(offset: 5)), ("{a:1}", .unexpectedCharacter(offset: 1)),
        ("[1 2]", .unexpectedCharacter(offset: 3)), (#"{"a":1 "b":2}"#, .unexpectedCharacter(offset: 7)),
        (#"{"a":}"#, .unexpectedCharacter(offset: 5)), ("[,1]", .unexpectedCharacter(offset: 1)),
        ("trUe", .unexpectedCharacter(offset: 2)), ("nul1", .unexpectedCharacter(offset: 3)),
        (".5", .unexpectedCharacter(offset: 0)), ("+1", .unexpectedCharacter(offset: 0)),
        ("NaN", .unexpectedCharacter(offset: 0)), ("Infinity", .unexpectedCharacter(offset: 0)),
        ("'a'", .unexpectedCharacter(offset: 0)), ("// c\n1", .unexpectedCharacter(offset: 0)),
        ("\u{FEFF}1", .unexpectedCharacter(offset: 0)), ("[1]\u{0B}", .trailingCharacters(offset: 3)),
        ("\"a\tb\"", .unexpectedCharacter(offset: 2)), ("\"a\nb\"", .unexpectedCharacter(offset: 2)),
        ("01", .invalidNumber(offset: 0)), ("-", .invalidNumber(offset: 0)), ("-a", .invalidNumber(offset: 0)),
        ("1.", .invalidNumber(offset: 0)), ("[1.e3]", .invalidNumber(offset: 1)), ("1e", .invalidNumber(offset: 0)),
        ("1e+", .invalidNumber(offset: 0)), ("-01", .invalidNumber(offset: 0)), ("[0x1]", .unexpectedCharacter(offset: 2)),
        (#""a\x""#, .invalidEscape(offset: 2)), (#""\u12G4""#, .invalidEscape(offset: 1)),
        (#""\U0041""#, .invalidEscape(offset: 1)), (#""\'""#, .invalidEscape(offset: 1)),
        ("1 2", .trailingCharacters(offset: 2)), ("[] x", .trailingCharacters(offset: 3)),
        (#"{}{}"#, .trailingCharacters(offset: 2)), (#""a""b""#, .trailingCharacters(offset: 3)),
    ] as [(String, JSONError)])
    func malformedTextIsRejected(_ text: String, _ error: JSONError) {
        #expect(throws: error) { try JSONValue.parse(text) }
        #expect(throws: error) { try JSONValue.parse(ByteBuffer(string: text)) }
    }

    @Test func invalidUTF8InByteInputIsRejected() {
        func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
            try JSONValue.parse(ByteBuffer(bytes: bytes))
        }
        #expect(throws: JSONError.invalidUTF8) { try parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONError.invalidUTF8) { try parse([0x22, 0x61, 0xC3, 0x22]) }
        #expect(throws: JSONError.invalidUTF8) { try parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        #expect(throws: JSONError.invalidUTF8) { try parse([0x22, 0xC0, 0xAF, 0x22]) }
        #expect(throws: JSONError.invalidUTF8) { try parse([0x22, 0x5C, 0x6E, 0xF8, 0x22]) }
        #expect(throws: JSONError.invalidUTF8) { try parse([0x7B, 0x22, 0xFE, 0x22, 0x3A, 0x31, 0x7D]) }
        #expect(throws: JSONError.unexpectedCharacter(offset: 1)) { try parse([0x5B, 0xFF, 0x5D]) }
    }

    @Test func byteInputUsesOnlyTheReadableBytes() throws {
        var buffer = ByteBuffer(string: "xx[1,2]yy")
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.moveWriterIndex(to: buffer.writerIndex - 2)
        #expect(try JSONValue.parse(buffer) == [1, 2])
    }

    // MARK: - Objects

    @Test func objectsKeepInsertionOrder() throws {
        let value = try JSONValue.parse(#"{"z":1,"a":2,"m":{"y":1,"b":2}}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value["m"]?.objectValue?.keys == ["y", "b"])
        #expect(value.objectValue.map { Array($0.map(\.key)) } == ["z", "a", "m"])
    }

    @Test func duplicateKeysKeepTheFirstPositionAndTheLastValue() throws {
        let value = try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.jsonString == #"{"a":3,"b":2}"#)
        let literal: JSONObject = ["a": 1, "b": 2, "a": 3]
        #expect(literal.keys == ["a", "b"])
        #expect(literal["a"] == 3)
    }

    @Test func objectEqualityAndHashingIgnoreOrder() throws {
        let first = try JSONValue.parse(#"{"a":1,"b":[true,{"c":null,"d":"x"}]}"#)
        let second = try JSONValue.parse(#"{"b":[true,{"d":"x","c":null}],"a":1}"#)
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(Set([first, second]).count == 1)
        #expect(first != (try JSONValue.parse(#"{"a":1,"b":[true,{"c":null,"d":"y"}]}"#)))
        #expect(first != (try JSONValue.parse(#"{"a":1}"#)))
        #expect((["a": 1] as JSONObject) != (["b": 1] as JSONObject))
    }

    @Test func objectMutationKeepsPositions() {
        var object: JSONObject = ["one": 1, "two": 2, "three": 3]
        object["two"] = "deux"
        #expect(object.keys == ["one", "two", "three"])
        #expect(object["two"] == "deux")
        object["one"] = nil
        #expect(object.keys == ["two", "three"])
        object["one"] = 1
        #expect(object.keys == ["two", "three", "one"])
        object["missing"] = nil
        #expect(object.count == 3)
        #expect(!object.isEmpty)
        #expect(JSONObject().isEmpty)
        #expect(JSONValue.object(object).jsonString == #"{"two":"deux","three":3,"one":1}"#)
    }

    @Test func largeObjectsBehaveLikeSmallOnes() throws {
        var object = JSONObject()
        for i in 0..<500 { object["k\(i)"] = .number(Double(i)) }
        for i in 0..<500 { object["k\(i)"] = .number(Double(i * 2)) }
        #expect(object.count == 500)
        #expect(object.keys == (0..<500).map { "k\($0)" })
        for i in stride(from: 0, to: 500, by: 2) { object["k\(i)"] = nil }
        #expect(object.count == 250)
        #expect(object["k1"] == 2)
        #expect(object["k2"] == nil)
        #expect(object.keys.first == "k1")
        #expect(object.keys.last == "k499")
        object["k0"] = true
        #expect(object.keys.last == "k0")

        let text = JSONValue.object(object).jsonString
        let parsed = try JSONValue.parse(text)
        #expect(parsed == .object(object))
        #expect(parsed.jsonString == text)
        let duplicated = "{" + (0..<100).map { #""d\#($0 % 20)":\#($0)"# }.joined(separator: ",") + "}"
        let deduplicated = try JSONValue.parse(duplicated)
        #expect(deduplicated.objectValue?.keys == (0..<20).map { "d\($0)" })
        #expect(deduplicated["d0"] == 80)
    }

    // MARK: - Literals and accessors

    @Test func literalsBuildTheExpectedCases() {
        let value: JSONValue = ["s", 1, 2.5, true, nil, ["k": "v"], []]
        #expect(value == .array([.string("s"), .number(1), .number(2.5), .bool(true), .null,
                                 .object(JSONObject([("k", .string("v"))])), .array([])]))
    }

    @Test func accessors() {
        let value: JSONValue = ["name": "x", "n": 3, "f": 3.5, "big": 1e300, "ok": true, "list": [1, 2],
                                "bin": .binary(ByteBuffer(bytes: [1])), "nothing": nil]
        #expect(value["name"]?.stringValue == "x")
        #expect(value["n"]?.intValue == 3)
        #expect(value["n"]?.doubleValue == 3)
        #expect(value["f"]?.intValue == nil)
        #expect(value["f"]?.doubleValue == 3.5)
        #expect(value["big"]?.intValue == nil)
        #expect(value["ok"]?.boolValue == true)
        #expect(value["list"]?.arrayValue == [1, 2])
        #expect(value["list"]?[1] == 2)
        #expect(value["list"]?[2] == nil)
        #expect(value["list"]?[-1] == nil)
        #expect(value["bin"]?.binaryValue == ByteBuffer(bytes: [1]))
        #expect(value["nothing"]?.isNull == true)
        #expect(value["name"]?.isNull == false)
        #expect(value["missing"] == nil)
        #expect(value.objectValue?.count == 8)
        #expect(value[0] == nil)
        #expect(JSONValue.string("x")["k"] == nil)
        #expect(JSONValue.number(1).stringValue == nil)
        #expect(JSONValue.number(-0.0).intValue == 0)
    }

    @Test func containsBinaryLooksAtEveryDepth() {
        let bytes = ByteBuffer(bytes: [1, 2])
        #expect(JSONValue.binary(bytes).containsBinary)
        #expect(JSONValue(arrayLiteral: "a", ["b": [1, .binary(bytes)]]).containsBinary)
        #expect(!JSONValue(arrayLiteral: "a", ["b": [1, "bytes"]]).containsBinary)
        #expect(!JSONValue.null.containsBinary)
    }

    @Test func writingABinaryDirectlyWritesNull() {
        let value: JSONValue = ["a", .binary(ByteBuffer(bytes: [1])), ["b": .binary(ByteBuffer())]]
        #expect(value.jsonString == #"["a",null,{"b":null}]"#)
        #expect(value.description == value.jsonString)
    }

    @Test func writeAppendsToTheBuffer() {
        var buffer = ByteBuffer(string: "4")
        JSONValue.array(["a", 1]).write(into: &buffer)
        #expect(String(buffer: buffer) == #"4["a",1]"#)
    }
}

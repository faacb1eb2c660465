import NIOCore
import SocketIO
import Testing

/// Inputs found by the libFuzzer targets (Tests/Fuzz, Docs/reliability.md "Fuzzing"), kept as
/// regression tests of the JSON parser.
@Suite("JSON parser fuzz regressions")
struct JSONParserFuzzRegressionTests {
    /// FuzzJSON crash-c25548c9: invalid UTF-8 before the first escape of a string was accepted by the
    /// byte parser (the escape path forgot the non-ASCII bits of the run before the backslash) and
    /// silently turned into U+FFFD.
    @Test(arguments: [
        [0x22, 0xA4, 0x8A, 0xDD, 0xAD, 0x66, 0x5C, 0x6E, 0x5C, 0x72, 0x5C, 0x74, 0x5C, 0x22, 0x5B, 0x5C, 0x2F, 0x22],
        Array(#"["ok",""#.utf8) + [0xFF] + Array(#"\n"]"#.utf8),
        Array(#"{"k":"a"#.utf8) + [0xC3] + Array(#"\u0041"}"#.utf8),
    ] as [[UInt8]])
    func invalidUTF8BeforeAnEscapeIsRefused(_ bytes: [UInt8]) {
        #expect(throws: JSONError.invalidUTF8) { try JSONValue.parse(ByteBuffer(bytes: bytes)) }
    }

    /// The same shape with valid UTF-8 before the escape still parses.
    @Test func validUTF8BeforeAnEscapeParses() throws {
        let value = try JSONValue.parse(ByteBuffer(string: #"["é€😀\n\"x"]"#))
        #expect(value == ["é€😀\n\"x"])
    }
}

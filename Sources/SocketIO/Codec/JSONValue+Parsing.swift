import NIOCore

extension JSONValue {
    /// Parses JSON text (RFC 8259, strict: no trailing commas/comments, \u escapes with surrogate
    /// pairs; a lone surrogate becomes U+FFFD). Nesting deeper than maxDepth → .tooDeep (no
    /// recursion blow-up).
    ///
    /// A repeated object key keeps its first position and its last value, as `JSON.parse` does.
    public static func parse(_ text: String, maxDepth: Int = 128) throws(JSONError) -> JSONValue {
        var text = text
        return try text.withUTF8 { utf8 in
            Result { () throws(JSONError) -> JSONValue in
                try JSONParser.parse(UnsafeRawBufferPointer(utf8), maxDepth: maxDepth, validateUTF8: false)
            }
        }.get()
    }

    /// Parses the readable bytes of `bytes` as JSON text, with the same rules as the `String` variant.
    /// Strings that are not valid UTF-8 → ``JSONError/invalidUTF8``.
    public static func parse(_ bytes: ByteBuffer, maxDepth: Int = 128) throws(JSONError) -> JSONValue {
        try bytes.withUnsafeReadableBytes { raw in
            Result { () throws(JSONError) -> JSONValue in
                try JSONParser.parse(raw, maxDepth: maxDepth, validateUTF8: true)
            }
        }.get()
    }
}

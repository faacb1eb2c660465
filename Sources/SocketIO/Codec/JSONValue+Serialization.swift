import NIOCore

extension JSONValue {
    /// Serializes like JavaScript's JSON.stringify: no spaces; strings escape only `"` `\` and
    /// U+0000–U+001F (`\b \f \n \r \t`, others `\u00XX` lowercase hex); numbers: integral values
    /// with |x| < 1e21 print without fraction ("1", "-0" prints "0"), others the shortest
    /// round-trip form in JS notation (1e-7 → "1e-7", 1.5e300 → "1.5e+300"); NaN/Infinity → "null".
    ///
    /// Objects are written in insertion order. A `.binary` cannot be expressed in JSON and is
    /// written as `null`: ``SocketPacketEncoder`` replaces binaries by placeholders itself.
    public func write(into buffer: inout ByteBuffer) {
        var writer = JSONWriter(mode: .null)
        writer.write(self, into: &buffer)
    }

    /// The value as JSON text (see ``write(into:)``).
    public var jsonString: String {
        var buffer = ByteBuffer()
        self.write(into: &buffer)
        return String(buffer: buffer)
    }
}

extension JSONValue: CustomStringConvertible {
    /// The value as JSON text; binaries show as `null`.
    public var description: String {
        self.jsonString
    }
}

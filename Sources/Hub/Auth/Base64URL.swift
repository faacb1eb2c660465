import Foundation

/// The URL-safe base64 alphabet of JWTs (RFC 4648 §5), on top of Foundation's base64.
enum Base64URL {
    /// `bytes` in base64url without padding.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return String(text.map { character -> Character in
            switch character {
            case "+": "-"
            case "/": "_"
            default: character
            }
        })
    }

    /// The bytes of a base64url text, with or without `=` padding; `nil` if the text has a
    /// character outside the URL-safe alphabet (including `+` and `/`) or an impossible length.
    static func decode(_ text: Substring) -> Data? {
        var body = text.utf8[...]
        var padding = 0
        while body.last == UInt8(ascii: "=") {
            body.removeLast()
            padding += 1
        }
        guard padding <= 2 else { return nil }
        if padding > 0, (body.count + padding) % 4 != 0 { return nil }
        if body.count % 4 == 1 { return nil }

        var standard = [UInt8]()
        standard.reserveCapacity(body.count + 3)
        for byte in body {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                standard.append(byte)
            case UInt8(ascii: "-"):
                standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"):
                standard.append(UInt8(ascii: "/"))
            default:
                return nil
            }
        }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(standard))
    }
}

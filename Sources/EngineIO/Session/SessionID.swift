import Foundation

/// Random identifiers for sessions and sockets: 128 bits from the system CSPRNG, base64url without padding (22 characters).
public enum SessionID {
    /// A fresh, unguessable, URL-safe session id.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in bytes.indices { bytes[index] = generator.next() }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

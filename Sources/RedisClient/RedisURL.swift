/// Where a Redis server is and how to log in: `redis://[user[:password]@]host[:port][/db]`.
///
/// `rediss://` (TLS) and `unix://` are not supported (no TLS dependency here): they are refused
/// with ``ParseError/unsupportedScheme(_:)``. Put Redis on a private network or a loopback
/// tunnel instead.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    /// Why a string is not a usable Redis URL.
    public enum ParseError: Error, Hashable, Sendable {
        /// The scheme is not `redis`.
        case unsupportedScheme(String)
        /// No host, or a malformed host/port/database part.
        case invalid(String)
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port. Default 6379.
    public var port: Int
    /// The ACL user name (Redis 6+), if any.
    public var username: String?
    /// The password for `AUTH`, if any.
    public var password: String?
    /// The database `SELECT`ed after connecting. Default 0.
    public var database: Int

    /// A URL from its parts.
    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `redis://[user[:password]@]host[:port][/db]` (percent-escapes in user and password
    /// are decoded; an IPv6 host goes in brackets).
    /// - Throws: ``ParseError``.
    public init(_ string: String) throws(ParseError) {
        guard let colon = string.firstIndex(of: ":"), string[colon...].hasPrefix("://") else {
            throw .invalid("missing scheme in \(string)")
        }
        let scheme = string[..<colon].lowercased()
        guard scheme == "redis" else { throw .unsupportedScheme(scheme) }
        var rest = string[string.index(colon, offsetBy: 3)...]
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            rest = rest[..<query]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = Self.percentDecoded(userInfo[..<colon])
                username = user.isEmpty ? nil : user
                password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else if !userInfo.isEmpty {
                // `redis://secret@host`: a lone user-info part is the password (as redis-py/ioredis read it).
                password = Self.percentDecoded(userInfo)
            }
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalid("unterminated IPv6 host in \(string)") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw .invalid("bad host in \(string)") }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw .invalid("missing host in \(string)") }
        var port = 6379
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { throw .invalid("bad port in \(string)") }
            port = value
        }
        var database = 0
        if !path.isEmpty {
            guard let value = Int(path), value >= 0 else { throw .invalid("bad database in \(string)") }
            database = value
        }
        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    /// The URL without the password (safe to log).
    public var description: String {
        let user = self.username.map { $0 + (self.password == nil ? "" : ":***") + "@" } ?? (self.password == nil ? "" : ":***@")
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "redis://\(user)\(host):\(self.port)/\(self.database)"
    }

    private static func percentDecoded(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"),
               let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high < utf8.endIndex,
               let low = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), low < utf8.endIndex,
               let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index = utf8.index(after: low)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

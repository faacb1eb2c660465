import RedisClient
import SocketIO

extension HubConfiguration {
    /// The cookie name socket.io uses.
    static let defaultCookieName = "io"

    /// Checks `redisURL` (a `redis://` URL) and `cookie` (a cookie name: RFC 6265 token characters).
    func validateCluster() throws {
        if let url = self.redisURL {
            do {
                _ = try RedisURL(url)
            } catch {
                throw HubConfigurationError(key: "redisURL", problem: "not a redis://[user[:password]@]host[:port][/db] URL (\(error))")
            }
        }
        if let cookie = self.cookie, !Self.isCookieName(cookie) {
            throw HubConfigurationError(
                key: "cookie", problem: "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~), got \"\(cookie)\"")
        }
    }

    /// The parsed `redisURL`, once ``validate()`` accepted it.
    var parsedRedisURL: RedisURL? {
        self.redisURL.flatMap { try? RedisURL($0) }
    }

    /// The file's `cookie`: `true` (the name `io`), `false` or `null` (none), or a cookie name.
    static func cookie(_ value: JSONValue, _ key: String) throws -> String? {
        if value.isNull { return nil }
        if let enabled = value.boolValue { return enabled ? Self.defaultCookieName : nil }
        guard let name = value.stringValue else {
            throw HubConfigurationError(key: key, problem: "must be true, false or a cookie name")
        }
        return name
    }

    /// `HUB_COOKIE` / `--cookie`: `true` or `1` (the name `io`), `false` or `0` (none), or a name.
    static func cookie(environment value: String) -> String? {
        switch value.lowercased() {
        case "true", "1": Self.defaultCookieName
        case "false", "0": nil
        default: value
        }
    }

    /// RFC 6265 `cookie-name`: a non-empty HTTP token.
    static func isCookieName(_ name: String) -> Bool {
        let extra = Set("!#$%&'*+-.^_`|~".utf8)
        return !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || extra.contains(byte)
        }
    }
}

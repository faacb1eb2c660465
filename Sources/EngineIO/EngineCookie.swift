/// socket.io's `cookie` option: a cookie set on the Engine.IO handshake, so that a load balancer
/// can keep a client's requests on one server (sticky sessions for long-polling, whose requests
/// are separate HTTP requests). Its value is the session id, as in socket.io.
public struct EngineCookie: Sendable, Hashable {
    /// The `SameSite` attribute.
    public enum SameSite: String, Sendable, Hashable {
        case strict = "Strict"
        case lax = "Lax"
        case none = "None"
    }

    /// The cookie name. Default `io` (socket.io's).
    public var name: String
    /// The `Path` attribute. Default `/`.
    public var path: String
    /// Whether it is `HttpOnly` (not visible to scripts). Default `true`.
    public var httpOnly: Bool
    /// The `SameSite` attribute. Default `.lax`.
    public var sameSite: SameSite

    /// A cookie with socket.io's defaults: `io`, `Path=/`, `HttpOnly`, `SameSite=Lax`.
    public init(name: String = "io", path: String = "/", httpOnly: Bool = true, sameSite: SameSite = .lax) {
        self.name = name
        self.path = path
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    /// The `Set-Cookie` value for session `id`, such as `io=Xy12…; Path=/; HttpOnly; SameSite=Lax`.
    public func header(sessionID id: String) -> String {
        var value = "\(self.name)=\(id); Path=\(self.path)"
        if self.httpOnly {
            value += "; HttpOnly"
        }
        value += "; SameSite=\(self.sameSite.rawValue)"
        return value
    }
}

import EngineIO
import NIOCore
import NIOHTTP1

/// What a client sent when its socket connected to a namespace.
public struct SocketHandshake: Sendable {
    /// The CONNECT payload (`auth` in socket.io-client), `{}` if none.
    public var auth: JSONValue
    /// The headers of the request that opened the Engine.IO session.
    public var headers: HTTPHeaders
    /// Its query parameters.
    public var query: QueryParameters
    /// The client's address.
    public var address: SocketAddress?
    /// The request URI that opened the session.
    public var url: String
}

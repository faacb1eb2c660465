import NIOCore
import NIOHTTP1

/// A complete HTTP request as the router hands it on: the head, the whole body (never more than the
/// route's limit), and the peer's address.
public struct HTTPServerRequest: Sendable {
    /// The request line and headers.
    public var head: HTTPRequestHead
    /// The path and query of the request target.
    public var target: RequestTarget
    /// The body, or `nil` if there was none.
    public var body: ByteBuffer?
    /// The client's address.
    public var remoteAddress: SocketAddress?

    /// Creates a request.
    public init(head: HTTPRequestHead, body: ByteBuffer?, remoteAddress: SocketAddress?) {
        self.head = head
        self.target = RequestTarget(uri: head.uri)
        self.body = body
        self.remoteAddress = remoteAddress
    }
}

/// A complete HTTP response.
public struct HTTPServerResponse: Sendable {
    /// The status.
    public var status: HTTPResponseStatus
    /// The headers; `Content-Length` is set by the server.
    public var headers: HTTPHeaders
    /// The body, if any.
    public var body: ByteBuffer?
    /// Whether the connection must close after this response.
    public var closeConnection: Bool

    /// Creates a response.
    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer? = nil, closeConnection: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.closeConnection = closeConnection
    }

    /// A response with a UTF-8 text body of the given content type.
    public static func text(_ status: HTTPResponseStatus, _ text: String, contentType: String = "text/plain; charset=UTF-8") -> Self {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        return .init(status: status, headers: headers, body: ByteBuffer(string: text))
    }

    /// A response with a JSON body.
    public static func json(_ status: HTTPResponseStatus, _ json: String) -> Self {
        .text(status, json, contentType: "application/json")
    }
}

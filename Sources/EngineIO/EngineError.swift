import NIOCore
import NIOHTTP1

/// The Engine.IO error table: each refusal has a code, a message and an HTTP status, and the body
/// is `{"code":N,"message":"…"}` (as socket.io's `Server.errorMessages`).
public enum EngineError: Int, Error, Sendable, CaseIterable {
    /// The `transport` query parameter is missing or not offered.
    case transportUnknown = 0
    /// The `sid` names no open session.
    case sessionIDUnknown = 1
    /// A handshake that is not a GET.
    case badHandshakeMethod = 2
    /// Anything else wrong with the request (transport mismatch, overlapping polls, bad packet).
    case badRequest = 3
    /// Refused by policy (CORS origin, connection limits).
    case forbidden = 4
    /// `EIO` missing or not 4.
    case unsupportedProtocolVersion = 5

    /// The message sent in the JSON body.
    public var message: String {
        switch self {
        case .transportUnknown: "Transport unknown"
        case .sessionIDUnknown: "Session ID unknown"
        case .badHandshakeMethod: "Bad handshake method"
        case .badRequest: "Bad request"
        case .forbidden: "Forbidden"
        case .unsupportedProtocolVersion: "Unsupported protocol version"
        }
    }

    /// The HTTP status of the answer.
    public var httpStatus: HTTPResponseStatus {
        self == .forbidden ? .forbidden : .badRequest
    }

    /// The JSON body of the answer.
    public var jsonBody: String {
        #"{"code":\#(self.rawValue),"message":"\#(self.message)"}"#
    }
}

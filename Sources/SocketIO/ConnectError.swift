/// Thrown by a connect middleware to refuse a namespace connection; the client receives
/// CONNECT_ERROR `{"message": message, "data": data}`.
public struct ConnectError: Error, Sendable, Hashable {
    /// The `message` field.
    public var message: String
    /// The optional `data` field.
    public var data: JSONValue?

    /// Creates a refusal.
    public init(message: String, data: JSONValue? = nil) {
        self.message = message
        self.data = data
    }

    /// The CONNECT_ERROR payload.
    var payload: JSONValue {
        var object = JSONObject()
        object["message"] = .string(self.message)
        if let data = self.data {
            object["data"] = data
        }
        return .object(object)
    }
}

/// Why an emit with acknowledgement did not get its answer.
public enum AckError: Error, Sendable, Hashable {
    /// No answer within the timeout.
    case timeout
    /// The socket disconnected before answering.
    case disconnected
}

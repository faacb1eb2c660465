/// Why a Socket.IO packet could not be decoded.
public enum SocketDecodingError: Error, Hashable, Sendable {
    /// Empty text, or a first character that is not `0`–`6`.
    case unknownPacketType
    /// A binary packet whose attachment count is not digits followed by `-`.
    case illegalAttachments
    /// A malformed namespace. The wire format accepts any namespace text up to the first `,`, so
    /// the decoder does not currently produce this; it is kept for callers that validate names.
    case invalidNamespace
    /// The JSON payload does not parse, is not allowed for the packet type, or the ack id overflows.
    case invalidPayload
    /// A binary message while no binary packet waits for attachments.
    case unexpectedBinary
    /// A text message while a binary packet still waits for attachments.
    case unexpectedText
    /// More attachments announced than the decoder allows.
    case tooManyAttachments
    /// A `{"_placeholder":true,"num":N}` whose `num` is not an integer in `0..<attachments`.
    case invalidPlaceholder
}

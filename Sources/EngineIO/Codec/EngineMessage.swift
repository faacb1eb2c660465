import NIOCore

/// The content of an Engine.IO `message` packet.
public enum EngineMessage: Hashable, Sendable {
    /// A text message; on the wire it follows the `4` type digit.
    case text(String)
    /// A binary message: a WebSocket binary frame, or `b<base64>` in a long-polling payload.
    case binary(ByteBuffer)
}

import NIOCore

/// A packet encoded for the wire once, shareable between all targets of a broadcast.
public struct EncodedPacket: Hashable, Sendable {
    /// How the bytes are framed.
    public enum Kind: Hashable, Sendable {
        /// A text packet (WebSocket text frame; as-is in a polling payload).
        case text
        /// A binary message (WebSocket binary frame; `b<base64>` in a polling payload).
        case binary
    }

    /// How ``bytes`` are framed.
    public var kind: Kind
    /// `.text`: the whole Engine.IO text packet including its type digit, UTF-8 (e.g. "4hello", "2", "3probe").
    /// `.binary`: the raw bytes of a binary message (no type prefix; WebSocket binary frame payload).
    public var bytes: ByteBuffer

    /// Creates an encoded packet from already framed bytes.
    @inlinable
    public init(kind: Kind, bytes: ByteBuffer) {
        self.kind = kind
        self.bytes = bytes
    }
}

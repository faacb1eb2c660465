/// Why an Engine.IO packet or polling payload could not be decoded.
public enum EngineCodecError: Error, Hashable, Sendable {
    /// The packet (or a segment of a polling payload, or the whole payload) is empty.
    case emptyPacket
    /// The first character is neither a type digit `0`–`6` nor `b`.
    case unknownPacketType
    /// A `b` packet whose data is not valid base64.
    case invalidBase64
    /// A polling payload that is not valid UTF-8.
    case invalidUTF8
    /// A payload larger than allowed. The codec itself has no limit; transports that enforce
    /// `maxHttpBufferSize` report this.
    case payloadTooLarge
}

import NIOCore
import NIOWebSocket

/// Close frames with a status code and a reason (RFC 6455 §5.5.1), so a client can tell why.
enum WebSocketClose {
    /// A close frame carrying `code` and `reason` (UTF-8, cut to the 123 bytes a control frame allows).
    static func frame(code: WebSocketErrorCode, reason: String, allocator: ByteBufferAllocator) -> WebSocketFrame {
        var data = allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        var bytes = Array(reason.utf8.prefix(123))
        while !bytes.isEmpty, String(validating: bytes, as: UTF8.self) == nil {
            bytes.removeLast()
        }
        data.writeBytes(bytes)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
    }

    /// Writes the close frame on `channel` (from its loop), then closes the connection. The returned
    /// future succeeds at once.
    static func send(code: WebSocketErrorCode, reason: String, on channel: Channel) -> EventLoopFuture<Void> {
        let frame = Self.frame(code: code, reason: reason, allocator: channel.allocator)
        channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
        return channel.eventLoop.makeSucceededVoidFuture()
    }
}

import NIOCore
import SocketIO

/// One message of the `/sse` stream, in the `text/event-stream` format (WHATWG HTML, "Server-sent
/// events"): lines ending in `\n`, each message ended by a blank line.
///
/// ```
/// id: 58
/// event: alert_created
/// data: {"id":"9a41…","type":"alert_created","room":"ops","namespace":"/monitoring","data":{…},"timestamp":"…","source":"api:worker","offset":58}
///
/// ```
enum SSEMessage: Hashable, Sendable {
    /// A hub event: `id: <offset>` (left out for an event without an offset, i.e. an ephemeral
    /// one), `event: <type>`, `data: <HubEvent.json on one line>`. A type containing a line break
    /// or NUL gets no `event:` line (a client then sees it as a `message` event; `data.type` says
    /// what it is), so no name can inject lines into the stream.
    case event(HubEvent)
    /// A comment line, `: <text>`, which clients ignore: the heartbeat.
    case comment(String)
    /// `retry: <milliseconds>`: how long an `EventSource` waits before reconnecting.
    case retry(milliseconds: Int)
    /// `event: token_expired`, `data: {"expires_at":…}`: the stream ends because its token expired.
    case tokenExpired(expiresAt: String)

    /// The heartbeat comment, `: ping`.
    static let heartbeat = SSEMessage.comment("ping")

    /// Appends the message, with the blank line that ends it, to `buffer`.
    func write(into buffer: inout ByteBuffer) {
        switch self {
        case .event(let event):
            if let offset = event.offset {
                buffer.writeString("id: \(offset)\n")
            }
            if Self.isSafeFieldValue(event.type) {
                buffer.writeString("event: ")
                buffer.writeString(event.type)
                buffer.writeString("\n")
            }
            // JSON escapes every control character, so the object is one line.
            buffer.writeString("data: ")
            event.json.write(into: &buffer)
            buffer.writeString("\n\n")
        case .comment(let text):
            buffer.writeString(": ")
            buffer.writeString(Self.isSafeFieldValue(text) ? text : "")
            buffer.writeString("\n\n")
        case .retry(let milliseconds):
            buffer.writeString("retry: \(milliseconds)\n\n")
        case .tokenExpired(let expiresAt):
            buffer.writeString("event: token_expired\ndata: ")
            JSONValue.object(["expires_at": .string(expiresAt)]).write(into: &buffer)
            buffer.writeString("\n\n")
        }
    }

    /// The message as text, blank line included.
    var text: String {
        var buffer = ByteBuffer()
        self.write(into: &buffer)
        return String(buffer: buffer)
    }

    /// Whether `value` fits on one field line: no CR, LF or NUL.
    static func isSafeFieldValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 == 0 }
    }
}

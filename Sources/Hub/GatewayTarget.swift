import Foundation

/// What the path of a gateway request (`/stream`, `/sse`) asks for: the gateway itself, or one
/// room in the path. Shared by ``StreamEndpoint`` and ``SSEEndpoint``.
enum GatewayTarget: Hashable, Sendable {
    /// `/<mount>` or `/<mount>/`.
    case bare
    /// `/<mount>/{room}`, the room percent-decoded.
    case room(String)

    /// What `path` asks for under `mount` (such as `/sse`), or `nil` if it is not the gateway's or
    /// names no usable room. Compared by bytes. `/<mount>/team%2Fops` is room `team/ops`; a room
    /// segment with a raw `/` or a malformed escape gives `nil`.
    init?(path: String, mount: String) {
        if path.utf8.elementsEqual(mount.utf8) || path.utf8.elementsEqual((mount + "/").utf8) {
            self = .bare
            return
        }
        guard path.utf8.starts(with: (mount + "/").utf8) else { return nil }
        let segment = String(decoding: path.utf8.dropFirst(mount.utf8.count + 1), as: UTF8.self)
        guard !segment.utf8.contains(UInt8(ascii: "/")), let room = segment.removingPercentEncoding, !room.isEmpty else {
            return nil
        }
        self = .room(room)
    }
}

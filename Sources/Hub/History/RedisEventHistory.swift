import NIOCore
import RedisClient
import SocketIO

/// Room history shared by the hub's nodes, in Redis Streams: one stream per room,
/// `hub:history:<namespace>:<room>`, each entry one event (field `e`: its ``HubEvent/json``
/// without offset).
///
/// Offsets stay the small integers of ``EventHistory``: entries are added with the id `0-*`, so
/// Redis gives them the ids `0-1`, `0-2`, … and the sequence part is the offset; it only grows,
/// whichever node adds, since Redis orders the adds. `XADD … MAXLEN ~ historySize` trims the
/// oldest entries; reads look at the newest `historySize` only (``events(namespace:room:since:limit:)``),
/// so the answers match the in-memory history's. Without persistence in Redis, a Redis restart
/// empties the history and offsets start again at 1.
public final class RedisEventHistory: Sendable {
    /// Events kept per room.
    public let capacityPerRoom: Int
    private let connection: RedisConnection
    private let keyPrefix: String

    init(connection: RedisConnection, capacityPerRoom: Int, keyPrefix: String) {
        self.connection = connection
        self.capacityPerRoom = capacityPerRoom
        self.keyPrefix = keyPrefix
    }

    /// The stream of a room.
    func key(namespace: String, room: String) -> String {
        "\(self.keyPrefix):history:\(namespace):\(room)"
    }

    /// Stores `event` in its room's stream; the future has it with its offset.
    public func append(_ event: HubEvent) -> EventLoopFuture<HubEvent> {
        var stored = event
        stored.offset = nil
        let arguments: [RESPValue] = [
            .bulk(self.key(namespace: event.namespace, room: event.room ?? "")),
            "MAXLEN", "~", .bulk(String(self.capacityPerRoom)), "0-*", "e", .bulk(stored.json.jsonString),
        ]
        return self.connection.send(command: "XADD", arguments: arguments).flatMapThrowing { reply in
            guard let id = reply.string, let offset = Self.offset(of: id) else {
                throw RedisClientError.unexpectedReply("XADD answered \(reply)")
            }
            stored.offset = offset
            return stored
        }
    }

    /// The kept events of a room with an offset greater than `since`, oldest first, at most
    /// `limit`: of the newest `capacityPerRoom` entries (`XREVRANGE`).
    public func events(namespace: String, room: String, since: UInt64 = 0, limit: Int = .max) -> EventLoopFuture<[HubEvent]> {
        let key = self.key(namespace: namespace, room: room)
        let start: RESPValue = since == 0 ? "-" : .bulk("(0-\(since)")
        let arguments: [RESPValue] = [.bulk(key), "+", start, "COUNT", .bulk(String(self.capacityPerRoom))]
        return self.connection.send(command: "XREVRANGE", arguments: arguments).flatMapThrowing { reply in
            let entries = try Self.events(in: reply)
            return Array(entries.reversed().prefix(max(0, limit)))
        }
    }

    /// The newest offset of a room (0 if nothing was published there).
    public func latestOffset(namespace: String, room: String) -> EventLoopFuture<UInt64> {
        let arguments: [RESPValue] = [.bulk(self.key(namespace: namespace, room: room)), "+", "-", "COUNT", "1"]
        return self.connection.send(command: "XREVRANGE", arguments: arguments).flatMapThrowing { reply in
            try Self.events(in: reply).first?.offset ?? 0
        }
    }

    /// The offset in an entry id `0-N`.
    static func offset(of id: String) -> UInt64? {
        guard id.utf8.starts(with: "0-".utf8) else { return nil }
        return UInt64(id.dropFirst(2))
    }

    /// The events of an `XRANGE`/`XREVRANGE` reply, `[[id, [field, value, …]], …]`, in reply order;
    /// entries that are not events are skipped.
    static func events(in reply: RESPValue) throws -> [HubEvent] {
        guard let entries = reply.array else {
            throw RedisClientError.unexpectedReply("a stream range answered \(reply)")
        }
        return entries.compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let offset = Self.offset(of: id),
                  let fields = parts[1].array else {
                return nil
            }
            var index = 0
            while index + 1 < fields.count {
                if fields[index].string == "e", let buffer = fields[index + 1].buffer, let json = try? JSONValue.parse(buffer),
                   var event = HubEvent(json: json) {
                    event.offset = offset
                    return event
                }
                index += 2
            }
            return nil
        }
    }
}

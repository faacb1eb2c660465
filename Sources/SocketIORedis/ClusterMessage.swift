import NIOCore
import RedisClient
import SocketIO

/// One entry of the cluster stream: what a node tells every node (itself included), as the
/// field/value pairs of an `XADD`. Pure: encoding and decoding do no I/O.
///
/// Fields: `u` origin node uid, `n` namespace, `t` kind, then per kind: `p` packet text (socket.io
/// wire form) and `a0`… binary attachments, `o` options JSON, `k` correlation token, `s` session
/// JSON (`"c": true` while connected), `i` private id, `w` the stream id a takeover's node had read, `r` rooms JSON, `c` close flag, `e` event, `d` arguments JSON.
struct ClusterMessage: Sendable, Equatable {
    enum Body: Sendable, Equatable {
        /// A broadcast (unencoded: each node encodes for its own sockets).
        case broadcast(SocketPacket, BroadcastOptions, token: String?)
        /// A socket's session, kept by every node for recovery: recorded when it disconnects, and
        /// while it is connected (`"c": true` in the JSON: at connect and when its rooms change), so
        /// that its client recovers elsewhere even if its node crashes.
        case sessionPersisted(JSONValue)
        /// A recovered session: every node forgets it, and a node where its socket is still connected
        /// closes that socket's connection (the session was taken over). `seen` is the newest stream
        /// entry the restoring node had read: the takeover covers the records and sockets up to it,
        /// not newer ones (the client may have come back to another node since). `nil`: all of them.
        case sessionTaken(privateID: String, seen: StreamID?)
        /// A session that ended for good (a disconnect that keeps no session): every node forgets it.
        case sessionEnded(privateID: String)
        /// The sending node is alive (sent every ``RedisAdapterNode/Configuration/heartbeatInterval``).
        case heartbeat
        /// socketsJoin.
        case addSockets(BroadcastOptions, rooms: Set<String>, token: String?)
        /// socketsLeave.
        case delSockets(BroadcastOptions, rooms: Set<String>, token: String?)
        /// disconnectSockets.
        case disconnectSockets(BroadcastOptions, close: Bool, token: String?)
        /// serverSideEmit: for the other nodes' handlers.
        case serverSideEmit(event: String, arguments: [JSONValue])
    }

    /// The node that sent it.
    var origin: String
    /// The namespace it is about.
    var namespace: String
    var body: Body

    /// The `XADD` field/value pairs.
    var fields: [RESPValue] {
        var fields: [RESPValue] = ["u", .bulk(self.origin), "n", .bulk(self.namespace)]
        func add(_ name: String, _ value: String) { fields += [.bulk(name), .bulk(value)] }
        func add(token: String?) { if let token { add("k", token) } }
        switch self.body {
        case .broadcast(let packet, let options, let token):
            add("t", "b")
            let (text, attachments) = SocketPacketEncoder.encodeText(packet)
            add("p", text)
            for (index, attachment) in attachments.enumerated() {
                fields += [.bulk("a\(index)"), .bulkString(attachment)]
            }
            add("o", Self.encode(options).jsonString)
            add(token: token)
        case .sessionPersisted(let session):
            add("t", "s")
            add("s", session.jsonString)
        case .sessionTaken(let privateID, let seen):
            add("t", "x")
            add("i", privateID)
            if let seen { add("w", seen.description) }
        case .sessionEnded(let privateID):
            add("t", "f")
            add("i", privateID)
        case .heartbeat:
            add("t", "h")
        case .addSockets(let options, let rooms, let token), .delSockets(let options, let rooms, let token):
            if case .addSockets = self.body { add("t", "j") } else { add("t", "l") }
            add("o", Self.encode(options).jsonString)
            add("r", JSONValue.array(rooms.sorted().map(JSONValue.string)).jsonString)
            add(token: token)
        case .disconnectSockets(let options, let close, let token):
            add("t", "d")
            add("o", Self.encode(options).jsonString)
            add("c", close ? "1" : "0")
            add(token: token)
        case .serverSideEmit(let event, let arguments):
            add("t", "e")
            add("e", event)
            add("d", JSONValue.array(arguments).jsonString)
        }
        return fields
    }

    /// The message in an entry's field/value list; `nil` if it is not one (a foreign or damaged
    /// entry is skipped, never fatal).
    init?(fields: [RESPValue]) {
        guard fields.count % 2 == 0 else { return nil }
        var map: [String: RESPValue] = [:]
        for index in stride(from: 0, to: fields.count, by: 2) {
            guard let name = fields[index].string else { return nil }
            map[name] = fields[index + 1]
        }
        guard let origin = map["u"]?.string, let namespace = map["n"]?.string, let kind = map["t"]?.string else { return nil }
        let token = map["k"]?.string
        func options() -> BroadcastOptions? { map["o"]?.string.flatMap { Self.decodeOptions($0) } }
        func json(_ name: String) -> JSONValue? { map[name]?.buffer.flatMap { try? JSONValue.parse($0) } }
        let body: Body
        switch kind {
        case "b":
            guard let text = map["p"]?.string, let options = options() else { return nil }
            var decoder = SocketPacketDecoder()
            guard var packet = Self.decodePacket(text, attachments: map, decoder: &decoder) else { return nil }
            packet.namespace = namespace
            body = .broadcast(packet, options, token: token)
        case "s":
            guard let session = json("s") else { return nil }
            body = .sessionPersisted(session)
        case "x":
            guard let id = map["i"]?.string else { return nil }
            body = .sessionTaken(privateID: id, seen: map["w"]?.string.flatMap { StreamID($0) })
        case "f":
            guard let id = map["i"]?.string else { return nil }
            body = .sessionEnded(privateID: id)
        case "h":
            body = .heartbeat
        case "j", "l":
            guard let options = options(), let rooms = json("r")?.arrayValue?.compactMap(\.stringValue) else { return nil }
            body = kind == "j" ? .addSockets(options, rooms: Set(rooms), token: token) : .delSockets(options, rooms: Set(rooms), token: token)
        case "d":
            guard let options = options() else { return nil }
            body = .disconnectSockets(options, close: map["c"]?.string == "1", token: token)
        case "e":
            guard let event = map["e"]?.string, let arguments = json("d")?.arrayValue else { return nil }
            body = .serverSideEmit(event: event, arguments: arguments)
        default:
            return nil
        }
        self.init(origin: origin, namespace: namespace, body: body)
    }

    init(origin: String, namespace: String, body: Body) {
        self.origin = origin
        self.namespace = namespace
        self.body = body
    }

    /// The packet of `text` plus the attachments `a0`, `a1`… of a binary packet.
    static func decodePacket(_ text: String, attachments: [String: RESPValue], decoder: inout SocketPacketDecoder) -> SocketPacket? {
        do {
            if let packet = try decoder.decode(text: text) { return packet }
            var index = 0
            while decoder.isAwaitingAttachments, let attachment = attachments["a\(index)"]?.buffer {
                if let packet = try decoder.decode(binary: attachment) { return packet }
                index += 1
            }
            return nil
        } catch {
            return nil
        }
    }

    static func encode(_ options: BroadcastOptions) -> JSONValue {
        var object = JSONObject()
        object["r"] = .array(options.rooms.sorted().map(JSONValue.string))
        object["e"] = .array(options.except.sorted().map(JSONValue.string))
        if options.volatile { object["v"] = true }
        return .object(object)
    }

    static func decodeOptions(_ text: String) -> BroadcastOptions? {
        guard let value = try? JSONValue.parse(text), let rooms = value["r"]?.arrayValue, let except = value["e"]?.arrayValue else { return nil }
        return BroadcastOptions(rooms: Set(rooms.compactMap(\.stringValue)), except: Set(except.compactMap(\.stringValue)),
                                volatile: value["v"]?.boolValue == true)
    }
}

import NIOCore
import SocketIO

/// Installs the hub's channels on its Socket.IO server: the auth middleware on every namespace,
/// `join_room` / `leave_room` with presence events, and publishing of catalogue events by sockets.
/// Handlers are registered once per namespace, not per socket.
struct HubChannels {
    let hub: Hub

    func install() {
        if self.hub.configuration.bench {
            BenchHandlers.install(on: self.hub.io)
        }
        for name in ChannelPolicy.namespaces {
            let namespace = self.hub.io.of(name)
            namespace.use(self.authenticate(namespace: name))
            namespace.onConnection { socket in
                if socket.recovered {
                    self.reconcileRecoveredRooms(socket)
                }
            }
            namespace.on("join_room") { socket, args, ack in self.joinRoom(socket, args, ack) }
            namespace.on("leave_room") { socket, args, ack in self.leaveRoom(socket, args, ack) }
            namespace.onDisconnecting { socket, _ in
                for room in socket.rooms where room != socket.id {
                    self.presence("user_left", socket: socket, room: room)
                }
            }
            for type in EventCatalogue.all.subtracting(["user_joined", "user_left"]) {
                namespace.on(type) { socket, args, ack in self.publishFromSocket(type, socket, args, ack) }
            }
        }
    }

    /// The connect middleware: a token from the CONNECT payload (or the handshake's
    /// `Authorization: Bearer` header) checked on every namespace CONNECT.
    private func authenticate(namespace: String) -> Namespace.Middleware {
        let hub = self.hub
        return { socket in
            let token = TokenAuthenticator.token(fromAuth: socket.handshake.auth)
                ?? TokenAuthenticator.bearerToken(from: socket.handshake.headers)
            if hub.configuration.bench, namespace == "/", token == nil {
                socket.userInfo[Hub.principalKey] = Principal(subject: "bench", roles: [])
                return
            }
            switch hub.authenticator.authenticate(token: token) {
            case .failure(let failure):
                throw ConnectError(message: failure.message, data: ["reason": .string(failure.reason)])
            case .success(let principal):
                guard ChannelPolicy.mayConnect(principal, to: namespace) else {
                    throw ConnectError(message: "forbidden", data: ["reason": .string("role required for \(namespace)")])
                }
                // A recovered socket carries the principal it had; only the same subject resumes it.
                if socket.recovered, let previous = Hub.principal(of: socket), previous.subject != principal.subject {
                    throw ConnectError(message: "forbidden", data: ["reason": "session belongs to another user"])
                }
                socket.userInfo[Hub.principalKey] = principal
            }
        }
    }

    /// A recovered socket is back in the rooms it had: drop those its (new) token no longer grants,
    /// and tell the other members it is back (they saw `user_left` when it dropped).
    private func reconcileRecoveredRooms(_ socket: Socket) {
        guard let principal = Hub.principal(of: socket) else { return }
        for room in socket.rooms where room != socket.id {
            if ChannelPolicy.refusalToJoin(principal, room: room, in: socket.namespace.name) != nil {
                socket.leave(room)
            } else {
                self.presence("user_joined", socket: socket, room: room)
            }
        }
    }

    private func joinRoom(_ socket: Socket, _ args: [JSONValue], _ ack: Ack?) {
        guard let principal = Hub.principal(of: socket) else { return }
        guard let room = Self.roomArgument(args) else {
            ack?(["ok": false, "error": "room required"])
            return
        }
        if let refusal = ChannelPolicy.refusalToJoin(principal, room: room, in: socket.namespace.name) {
            ack?(["ok": false, "error": .string(refusal)])
            return
        }
        let isNew = !socket.rooms.contains(room)
        socket.join(room)
        ack?(["ok": true, "room": .string(room)])
        if isNew {
            self.presence("user_joined", socket: socket, room: room)
        }
    }

    private func leaveRoom(_ socket: Socket, _ args: [JSONValue], _ ack: Ack?) {
        guard let room = Self.roomArgument(args), room != socket.id else {
            ack?(["ok": false, "error": "room required"])
            return
        }
        guard socket.rooms.contains(room) else {
            ack?(["ok": false, "error": "not in room"])
            return
        }
        socket.leave(room)
        ack?(["ok": true, "room": .string(room)])
        self.presence("user_left", socket: socket, room: room)
    }

    /// `user_joined` / `user_left` to the room's other members: `{"user","room"}`.
    private func presence(_ type: String, socket: Socket, room: String) {
        let user = Hub.principal(of: socket)?.subject ?? "unknown"
        self.hub.broadcaster.publish(type: type, data: ["user": .string(user), "room": .string(room)],
                                     namespace: socket.namespace.name, rooms: [room], source: "hub", exceptSocket: socket.id)
    }

    /// A catalogue event from a socket: the first argument is the data object, which names its
    /// target with `"room"` (or `"rooms"`). Answered, if asked, with `{"ok":true,"id","delivered"}`
    /// or `{"ok":false,"error"}`.
    private func publishFromSocket(_ type: String, _ socket: Socket, _ args: [JSONValue], _ ack: Ack?) {
        guard let principal = Hub.principal(of: socket) else { return }
        guard let data = args.first, case .object(let object) = data else {
            ack?(["ok": false, "error": "data must be an object"])
            return
        }
        var rooms: [String] = []
        if let room = object["room"]?.stringValue {
            rooms.append(room)
        }
        rooms += object["rooms"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard !rooms.isEmpty else {
            ack?(["ok": false, "error": "room required"])
            return
        }
        for room in rooms {
            if let refusal = ChannelPolicy.refusalToPublish(principal, type: type, room: room, in: socket.namespace.name,
                                                            isMember: socket.rooms.contains(room)) {
                ack?(["ok": false, "error": .string(refusal)])
                return
            }
        }
        let result = self.hub.broadcaster.publish(
            type: type, data: data, namespace: socket.namespace.name, rooms: rooms,
            source: "socket:\(principal.subject)", exceptSocket: type == "typing_indicator" ? socket.id : nil)
        if let ack {
            result.whenSuccess { result in
                ack(["ok": true, "id": .string(result.events.first?.id ?? ""), "delivered": .number(Double(result.delivered))])
            }
        }
    }

    /// The room of `join_room {"room": …}`; a bare string is accepted too.
    private static func roomArgument(_ args: [JSONValue]) -> String? {
        guard let first = args.first else { return nil }
        return first["room"]?.stringValue ?? first.stringValue
    }
}

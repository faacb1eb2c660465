import EngineIO
import Logging
import NIOCore
import SocketIO

/// Installs the hub's channels on its Socket.IO server: the auth middleware on every namespace,
/// `join_room` / `leave_room` with presence events, publishing by sockets under ``EventRules`` (any
/// other event name is answered, if the client asked for an ack, `{"ok":false,"error":…}`), and the
/// connection log. Handlers are registered once per namespace, not per socket.
struct HubChannels {
    let hub: Hub

    func install() {
        if self.hub.configuration.bench {
            BenchHandlers.install(on: self.hub.io)
        }
        for name in ChannelPolicy.namespaces {
            let namespace = self.hub.io.of(name)
            if self.hub.authenticator.fetchesKeys {
                // Keys from a JWKS URL: a token naming a new kid waits for the key set's reload.
                namespace.use(self.authenticateWaitingForKeys(namespace: name))
            } else {
                namespace.use(self.authenticate(namespace: name))
            }
            namespace.onConnection { socket in
                socket.userInfo[Self.connectedAtKey] = NIODeadline.now()
                socket.userInfo[Self.transportKey] = socket.transport
                self.logConnected(socket)
                if socket.recovered {
                    self.reconcileRecoveredRooms(socket)
                }
                self.armTokenExpiry(socket)
            }
            namespace.on("refresh_token") { socket, args, ack in
                if self.admit(socket, ack) { self.refreshToken(socket, args, ack) }
            }
            namespace.on("join_room") { socket, args, ack in
                if self.admit(socket, ack) { self.joinRoom(socket, args, ack) }
            }
            namespace.on("leave_room") { socket, args, ack in
                if self.admit(socket, ack) { self.leaveRoom(socket, args, ack) }
            }
            namespace.onDisconnecting { socket, reason in
                (socket.userInfo[Self.lifetimeKey] as? TokenLifetime)?.cancel()
                self.logDisconnected(socket, reason: reason)
                for room in socket.rooms where room != socket.id {
                    self.presence("user_left", socket: socket, room: room)
                }
            }
            namespace.onUnhandledEvent { socket, event, args, ack in
                if self.admit(socket, ack) { self.publishFromSocket(event, socket, args, ack) }
            }
        }
    }

    /// The socket's inbound rate limit: whether to handle its event. Over the limit the event is
    /// acked `{"ok":false,"error":"rate limited"}` (and counted); a whole burst refused in a row
    /// disconnects the socket (a server disconnect: clients do not reconnect on their own).
    private func admit(_ socket: Socket, _ ack: Ack?) -> Bool {
        switch SocketRateLimiter.of(socket, limit: self.hub.eventRateLimit).admit() {
        case .allow:
            return true
        case .refuse:
            self.hub.metrics.recordLimitReached(.eventRateLimit)
            ack?(["ok": false, "error": "rate limited"])
            return false
        case .disconnect:
            self.hub.metrics.recordLimitReached(.eventRateLimit)
            ack?(["ok": false, "error": "rate limited"])
            if self.hub.configuration.logConnections {
                self.hub.logger.info("socket rate limited: disconnecting", metadata: [
                    "namespace": "\(socket.namespace.name)", "sid": "\(socket.id)",
                    "user": "\(Hub.principal(of: socket)?.subject ?? "-")",
                ])
            }
            socket.disconnect()
            return false
        }
    }

    private static let connectedAtKey = "hub.connectedAt"
    private static let lifetimeKey = "hub.tokenLifetime"

    // MARK: Token lifetime

    /// For a token with an expiry: `token_expiring` `{"expires_at","in_ms"}` `tokenExpiryWarning`
    /// before it (a client refreshes with `refresh_token`), then at the expiry `token_expired`
    /// `{"expires_at"}` and the connection is closed as "transport close": socket.io clients
    /// reconnect on their own (with a fresh token from an `auth` callback), and connection-state
    /// recovery brings their rooms and missed events back.
    private func armTokenExpiry(_ socket: Socket) {
        guard let expiresAt = Hub.principal(of: socket)?.expiresAt else {
            (socket.userInfo[Self.lifetimeKey] as? TokenLifetime)?.cancel()
            return
        }
        let lifetime = socket.userInfo[Self.lifetimeKey] as? TokenLifetime ?? TokenLifetime()
        socket.userInfo[Self.lifetimeKey] = lifetime
        let stamp = JSONValue.string(HubEvent.format(expiresAt))
        let warning = TimeAmount.milliseconds(Int64(self.hub.configuration.tokenExpiryWarning))
        lifetime.arm(expiresAt: expiresAt, warning: warning, on: socket.eventLoop, onWarning: {
            let remaining = max(0, expiresAt.timeIntervalSinceNow * 1000).rounded(.down)
            socket.emit("token_expiring", ["expires_at": stamp, "in_ms": .number(remaining)])
        }, onExpiry: {
            self.hub.metrics.recordTokenExpired()
            socket.emit("token_expired", ["expires_at": stamp])
            if self.hub.configuration.logConnections {
                self.hub.logger.info("socket token expired", metadata: self.logMetadata(socket, user: Hub.principal(of: socket)?.subject, extra: [:]))
            }
            // After the event is written: closing at once could cut it off.
            socket.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(50)) { socket.closeTransport() }
        })
    }

    /// `refresh_token` `{"token"}` (or the token as a string): a new token for the same subject
    /// replaces the socket's principal and its expiry, without reconnecting; rooms the new token
    /// no longer grants are left. Acked `{"ok":true,"expires_at"}` or `{"ok":false,"error"}`.
    private func refreshToken(_ socket: Socket, _ args: [JSONValue], _ ack: Ack?) {
        guard let previous = Hub.principal(of: socket) else { return }
        let token = args.first.flatMap { $0["token"]?.stringValue ?? $0.stringValue }
        guard let token, !token.isEmpty else {
            ack?(["ok": false, "error": "token required"])
            return
        }
        let hub = self.hub
        Task {
            let result = await hub.authenticator.authenticate(token: token)
            socket.eventLoop.execute {
                switch result {
                case .failure(let failure):
                    ack?(["ok": false, "error": .string(failure.reason)])
                case .success(let principal):
                    guard ExactName(principal.subject) == ExactName(previous.subject) else {
                        ack?(["ok": false, "error": "token belongs to another user"])
                        return
                    }
                    guard ChannelPolicy.mayConnect(principal, to: socket.namespace.name) else {
                        ack?(["ok": false, "error": .string("role required for \(socket.namespace.name)")])
                        return
                    }
                    socket.userInfo[Hub.principalKey] = principal
                    for room in socket.rooms where room != socket.id
                        && ChannelPolicy.refusalToJoin(principal, room: room, in: socket.namespace.name) != nil {
                        socket.leave(room)
                        self.presence("user_left", socket: socket, room: room)
                    }
                    self.armTokenExpiry(socket)
                    ack?(["ok": true, "expires_at": principal.expiresAt.map { .string(HubEvent.format($0)) } ?? .null])
                }
            }
        }
    }
    /// The transport at connect, for the disconnect line when the session is already gone.
    private static let transportKey = "hub.transport"

    /// Whether the CONNECT asked for events as `(data)` only: `auth: {"meta": false}` or the
    /// handshake query `meta=false` (for clients that cannot send an auth payload).
    static func wantsDataOnly(_ handshake: SocketHandshake) -> Bool {
        if case .bool(false)? = handshake.auth["meta"] { return true }
        return handshake.query["meta"] == "false"
    }

    /// The connect middleware: a token from the CONNECT payload (or the handshake's
    /// `Authorization: Bearer` header) checked on every namespace CONNECT.
    private func authenticate(namespace: String) -> Namespace.Middleware {
        let hub = self.hub
        return { socket in
            let token = Self.token(of: socket)
            if hub.configuration.bench, namespace == "/", token == nil {
                socket.userInfo[Hub.principalKey] = Principal(subject: "bench", roles: [])
                return
            }
            try self.admit(socket, to: namespace, hub.authenticator.authenticate(token: token))
        }
    }

    /// The connect middleware when the keys come from a JWKS URL: as ``authenticate(namespace:)``,
    /// but the check may wait for the key set (its first fetch, or a reload for an unknown `kid`);
    /// the socket is then touched on its loop.
    private func authenticateWaitingForKeys(namespace: String) -> Namespace.AsyncMiddleware {
        let hub = self.hub
        return { socket in
            let token = Self.token(of: socket)
            if hub.configuration.bench, namespace == "/", token == nil {
                try await socket.eventLoop.submit {
                    socket.userInfo[Hub.principalKey] = Principal(subject: "bench", roles: [])
                }.get()
                return
            }
            let result = await hub.authenticator.authenticate(token: token)
            try await socket.eventLoop.submit {
                try self.admit(socket, to: namespace, result)
            }.get()
        }
    }

    private static func token(of socket: Socket) -> String? {
        TokenAuthenticator.token(fromAuth: socket.handshake.auth)
            ?? TokenAuthenticator.bearerToken(from: socket.handshake.headers)
    }

    /// Admits `socket` to `namespace` with the outcome of its token check, or throws the refusal.
    /// On the socket's loop.
    private func admit(_ socket: Socket, to namespace: String, _ result: Result<Principal, AuthFailure>) throws {
        let principal: Principal
        switch result {
        case .failure(let failure):
            self.logRefused(socket, user: nil, reason: failure.reason)
            throw ConnectError(message: failure.message, data: ["reason": .string(failure.reason)])
        case .success(let authenticated):
            principal = authenticated
        }
        guard ChannelPolicy.mayConnect(principal, to: namespace) else {
            self.logRefused(socket, user: principal.subject, reason: "role required for \(namespace)")
            throw ConnectError(message: "forbidden", data: ["reason": .string("role required for \(namespace)")])
        }
        // A recovered socket carries the principal it had; only the same subject resumes it.
        if socket.recovered, let previous = Hub.principal(of: socket), previous.subject != principal.subject {
            self.logRefused(socket, user: principal.subject, reason: "session belongs to another user")
            throw ConnectError(message: "forbidden", data: ["reason": "session belongs to another user"])
        }
        socket.userInfo[Hub.principalKey] = principal
        if Self.wantsDataOnly(socket.handshake) {
            socket.eventArgumentLimit = 1
        }
    }

    // MARK: Connection log

    private func logConnected(_ socket: Socket) {
        guard self.hub.configuration.logConnections else { return }
        self.hub.logger.info("socket connected", metadata: self.logMetadata(socket, user: Hub.principal(of: socket)?.subject, extra: [
            "transport": "\(socket.transport?.rawValue ?? "-")",
            "recovered": "\(socket.recovered)",
        ]))
    }

    private func logRefused(_ socket: Socket, user: String?, reason: String) {
        guard self.hub.configuration.logConnections else { return }
        self.hub.logger.info("socket refused", metadata: self.logMetadata(socket, user: user, extra: ["reason": "\(reason)"]))
    }

    private func logDisconnected(_ socket: Socket, reason: String) {
        guard self.hub.configuration.logConnections else { return }
        let transport = socket.transport ?? socket.userInfo[Self.transportKey] as? EngineTransportKind
        var extra: Logger.Metadata = ["reason": "\(reason)", "transport": "\(transport?.rawValue ?? "-")"]
        if let since = socket.userInfo[Self.connectedAtKey] as? NIODeadline {
            let milliseconds = (NIODeadline.now() - since).nanoseconds / 1_000_000
            extra["duration_ms"] = "\(milliseconds)"
        }
        self.hub.logger.info("socket disconnected", metadata: self.logMetadata(socket, user: Hub.principal(of: socket)?.subject, extra: extra))
    }

    /// What every connection log line says: namespace, socket id, user (the token's `sub`, never
    /// the token) and the client's address.
    private func logMetadata(_ socket: Socket, user: String?, extra: Logger.Metadata) -> Logger.Metadata {
        var metadata = extra
        metadata["namespace"] = "\(socket.namespace.name)"
        metadata["sid"] = "\(socket.id)"
        metadata["user"] = "\(user ?? "-")"
        metadata["remote"] = "\(Self.address(socket.handshake.address))"
        return metadata
    }

    /// `ip:port` of a socket address, `-` if unknown.
    private static func address(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "-" }
        return address.port.map { "\(ip):\($0)" } ?? ip
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
        // The socket's own room (its id) does not count.
        if isNew, socket.rooms.count - 1 >= self.hub.configuration.maxRoomsPerSocket {
            self.hub.metrics.recordLimitReached(.maxRoomsPerSocket)
            ack?(["ok": false, "error": "too many rooms"])
            return
        }
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

    /// An event no named handler takes: published if ``EventRules`` allow it. The first argument is
    /// the data object, which names its target with `"room"` (or `"rooms"`). Answered, if asked,
    /// with `{"ok":true,"id","delivered"}` or `{"ok":false,"error"}`; a refusal is counted in
    /// `hub_events_refused_total` and logged at debug either way.
    private func publishFromSocket(_ type: String, _ socket: Socket, _ args: [JSONValue], _ ack: Ack?) {
        guard let principal = Hub.principal(of: socket) else { return }
        if let refusal = self.refusalToPublish(type, socket: socket, principal: principal, args: args) {
            self.hub.metrics.recordEventRefused(refusal.kind)
            self.hub.logger.debug("event refused", metadata: [
                "namespace": "\(socket.namespace.name)", "sid": "\(socket.id)", "user": "\(principal.subject)",
                "reason": "\(refusal.kind.rawValue)",
            ])
            ack?(["ok": false, "error": .string(refusal.message)])
            return
        }
        let data = args[0]
        let result = self.hub.broadcaster.publish(
            type: type, data: data, namespace: socket.namespace.name, rooms: Self.targetRooms(data),
            source: "socket:\(principal.subject)", exceptSocket: type == "typing_indicator" ? socket.id : nil)
        if let ack {
            result.whenComplete { result in
                switch result {
                case .success(let result):
                    ack(["ok": true, "id": .string(result.events.first?.id ?? ""), "delivered": .number(Double(result.delivered))])
                case .failure:
                    ack(["ok": false, "error": "the event could not be published"])
                }
            }
        }
    }

    /// Why the socket's event is not published, or `nil` if it is.
    private func refusalToPublish(_ type: String, socket: Socket, principal: Principal, args: [JSONValue]) -> EventRules.Refusal? {
        if let reason = EventRules.invalidNameReason(type) {
            return EventRules.Refusal(.invalidName, reason)
        }
        guard let data = args.first, data.objectValue != nil else {
            return EventRules.Refusal(.invalidArguments, "data must be an object")
        }
        let rooms = Self.targetRooms(data)
        guard !rooms.isEmpty else {
            return EventRules.Refusal(.invalidArguments, "room required")
        }
        for room in rooms {
            guard ChannelPolicy.isValidRoomName(room) else {
                return EventRules.Refusal(.invalidArguments, "invalid room name")
            }
            if let refusal = self.hub.eventRules.refusalToPublish(principal, type: type, room: room, namespace: socket.namespace.name,
                                                                  isMember: socket.rooms.contains(room)) {
                return refusal
            }
        }
        return nil
    }

    /// The rooms a data object names: `"room"`, then the strings of `"rooms"`.
    private static func targetRooms(_ data: JSONValue) -> [String] {
        var rooms: [String] = []
        if let room = data["room"]?.stringValue {
            rooms.append(room)
        }
        rooms += data["rooms"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return rooms
    }

    /// The room of `join_room {"room": …}`; a bare string is accepted too.
    private static func roomArgument(_ args: [JSONValue]) -> String? {
        guard let first = args.first else { return nil }
        return first["room"]?.stringValue ?? first.stringValue
    }
}

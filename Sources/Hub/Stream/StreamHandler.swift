import NIOCore
import NIOWebSocket
import SocketIO

/// One `/stream` connection, after the WebSocket upgrade: reads frames (reassembled by a
/// `NIOWebSocketFrameAggregator` in front of it), runs them through a ``StreamSessionState`` and
/// carries out what it decides — checking tokens, registering subscribers with the hub's
/// ``EventBroadcaster``, reading ``EventHistory``, publishing, pinging, writing messages and
/// closing. It keeps ``StreamStats`` up to date and logs `stream connected` / `stream
/// disconnected` when `logConnections` is on.
///
/// Everything runs on the channel's event loop. Events come from the broadcaster on any thread;
/// the connection's ``Subscriber``s (one delivery group) hop them to the loop, in the order they
/// received them.
final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long a connection the server is closing may take to write its close frame (behind
    /// whatever is still buffered for a slow client) before it is dropped.
    static let closeGracePeriod = TimeAmount.seconds(2)

    private let hub: Hub
    private let queryToken: String?
    private let maxMessageSize: Int
    /// The publish rate of this connection (`eventRateLimit` / `eventRateBurst`, as for a socket).
    private let publishLimiter: SocketRateLimiter
    private var state: StreamSessionState
    private var context: ChannelHandlerContext?
    private var subscribers: [StreamSessionState.SubscriptionID: (subscriber: Subscriber, filter: EventFilter)] = [:]
    private var authTimer: Scheduled<Void>?
    private var pingTimer: Scheduled<Void>?
    private var pongTimer: Scheduled<Void>?
    /// The token's clock (`token_expiring`, then `token_expired` and close).
    private let tokenLifetime = TokenLifetime()
    private var started = false
    private var tornDown = false
    /// Whether a close frame was sent (or the connection is gone): nothing more is written.
    private var closing = false
    /// When the connection opened, and from where (for the connection log).
    private var openedAt = NIODeadline.now()
    private var remoteAddress = "-"
    /// The subject logged as connected, once authenticated.
    private var loggedSubject: String?
    /// How the connection ended, for the connection log: the close frame sent or received.
    private var closeCause: String?

    /// - Parameters:
    ///   - queryToken: The URL's `token` parameter, checked as soon as the connection opens.
    ///   - pathRoom: The room of `/stream/{room}`, subscribed in namespace `/` once authenticated.
    ///   - maxMessageSize: Larger messages close the connection with 1009.
    ///   - maxBufferedBytes: The slow-consumer bound (see ``StreamSessionState/wrote(bytes:channelWritable:)``).
    init(hub: Hub, queryToken: String?, pathRoom: String?, maxMessageSize: Int, maxBufferedBytes: Int) {
        self.hub = hub
        self.queryToken = queryToken
        self.maxMessageSize = maxMessageSize
        self.publishLimiter = SocketRateLimiter(limit: hub.eventRateLimit)
        self.state = StreamSessionState(pathRoom: pathRoom, maxSubscriptions: StreamEndpoint.maxSubscriptionsPerConnection,
                                        maxBufferedBytes: maxBufferedBytes,
                                        maxPendingPublishes: StreamEndpoint.maxPendingPublishesPerConnection,
                                        publishRule: Self.publishRule(of: hub))
    }

    /// Who may publish what: the hub's ``EventRules``, as for a Socket.IO socket emitting an event.
    /// A refusal is counted in `hub_events_refused_total`, as a socket's is.
    static func publishRule(of hub: Hub) -> StreamSessionState.PublishRule {
        let rules = hub.eventRules
        let metrics = hub.metrics
        return { principal, type, room, namespace, isMember in
            guard let refusal = rules.refusalToPublish(principal, type: type, room: room, namespace: namespace,
                                                       isMember: isMember) else { return nil }
            metrics.recordEventRefused(refusal.kind)
            return refusal.message
        }
    }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.start()
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.tearDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.tearDown()
        self.context = nil
    }

    private func start() {
        guard !self.started, let context = self.context else { return }
        self.started = true
        self.openedAt = .now()
        if let address = context.channel.remoteAddress {
            self.remoteAddress = address.ipAddress.map { ip in address.port.map { "\(ip):\($0)" } ?? ip } ?? "-"
        }
        self.hub.streamStats.connectionOpened()
        self.schedulePing()
        self.run(self.state.start(queryToken: self.queryToken))
    }

    /// Ends every subscription, the timers and the connection's count; safe to call more than once.
    private func tearDown() {
        self.closing = true
        self.run(self.state.connectionClosed())
        for (subscriber, filter) in self.subscribers.values {
            self.hub.broadcaster.unsubscribe(subscriber)
            self.hub.streamStats.subscriptionRemoved(filter)
        }
        self.subscribers.removeAll()
        self.authTimer?.cancel()
        self.authTimer = nil
        self.tokenLifetime.cancel()
        self.pingTimer?.cancel()
        self.pingTimer = nil
        self.pongTimer?.cancel()
        self.pongTimer = nil
        guard self.started, !self.tornDown else { return }
        self.tornDown = true
        self.hub.streamStats.connectionClosed()
        if let subject = self.loggedSubject, self.hub.configuration.logConnections {
            let elapsed = (NIODeadline.now() - self.openedAt).nanoseconds / 1_000_000
            self.hub.logger.info("stream disconnected", metadata: [
                "user": .string(subject), "remote": .string(self.remoteAddress),
                "reason": .string(self.closeCause ?? "connection lost"), "duration_ms": .stringConvertible(elapsed),
            ])
        }
    }

    /// Sends a ping every `streamPingInterval` (the state decides; see ``StreamSessionState/pingDue()``).
    private func schedulePing() {
        guard let context = self.context, !self.closing else { return }
        let interval = TimeAmount.milliseconds(Int64(self.hub.configuration.streamPingInterval))
        self.pingTimer = context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            self.pingTimer = nil
            self.run(self.state.pingDue())
            self.schedulePing()
        }
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        self.run(self.state.frameReceived())
        switch frame.opcode {
        case .text:
            guard frame.length <= self.maxMessageSize else {
                return self.run(self.state.close(code: .messageTooLarge, reason: "message too large"))
            }
            let text = frame.unmaskedData.withUnsafeReadableBytes { String(validating: $0, as: UTF8.self) }
            guard let text else {
                return self.run(self.state.close(code: .dataInconsistentWithMessage, reason: "invalid UTF-8"))
            }
            self.run(self.state.receive(text: text))
        case .binary:
            guard frame.length <= self.maxMessageSize else {
                return self.run(self.state.close(code: .messageTooLarge, reason: "message too large"))
            }
            self.run(self.state.receiveBinary())
        case .ping:
            guard !self.closing else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(self.wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            if self.closeCause == nil {
                var data = frame.unmaskedData
                let code = data.readWebSocketErrorCode().map { "\(UInt16(webSocketErrorCode: $0))" } ?? "none"
                self.closeCause = "client closed (\(code))"
            }
            self.run(self.state.close(code: .normalClosure, reason: ""))
        case .pong:
            break
        default:
            self.run(self.state.close(code: .protocolError, reason: "unexpected frame"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            self.run(self.state.close(code: .messageTooLarge, reason: "message too large"))
        case is NIOWebSocketFrameAggregator.Error:
            self.run(self.state.close(code: .protocolError, reason: "invalid fragmentation"))
        case is NIOWebSocketError:
            // The upgrader's protocol error handler has already sent the close frame and closes.
            self.closing = true
            self.run(self.state.connectionClosed())
        default:
            self.closing = true
            self.run(self.state.connectionClosed())
            context.close(promise: nil)
        }
    }

    /// A live event for this connection, on the loop.
    private func deliver(_ event: HubEvent) {
        self.run(self.state.receive(event: event))
    }

    // MARK: - Actions

    private func run(_ actions: [StreamSessionState.Action]) {
        var needsFlush = false
        for action in actions {
            switch action {
            case .send(let message):
                guard let bytes = self.write(message) else { continue }
                needsFlush = true
                let writable = self.context?.channel.isWritable ?? false
                self.run(self.state.wrote(bytes: bytes, channelWritable: writable))
            case .replay(let message):
                if self.write(message) != nil {
                    needsFlush = true
                }
            case .authenticate(let token):
                self.run(self.state.authenticated(self.hub.authenticator.authenticate(token: token)))
                self.logConnected()
            case .startAuthTimer:
                guard let context = self.context, self.authTimer == nil else { continue }
                let timeout = TimeAmount.milliseconds(Int64(self.hub.configuration.streamAuthTimeout))
                self.authTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                    self.authTimer = nil
                    self.run(self.state.authTimedOut())
                }
            case .cancelAuthTimer:
                self.authTimer?.cancel()
                self.authTimer = nil
            case .startSubscription(let id, let filter, let since):
                self.startSubscription(id: id, filter: filter, since: since)
            case .endSubscription(let id):
                if let (subscriber, filter) = self.subscribers.removeValue(forKey: id) {
                    self.hub.broadcaster.unsubscribe(subscriber)
                    self.hub.streamStats.subscriptionRemoved(filter)
                }
            case .publish(let request):
                self.publish(request)
            case .sendPing:
                guard !self.closing, let context = self.context else { continue }
                context.write(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
                needsFlush = true
            case .startPongTimer:
                guard let context = self.context, self.pongTimer == nil else { continue }
                let timeout = TimeAmount.milliseconds(Int64(self.hub.configuration.streamPingTimeout))
                self.pongTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                    self.pongTimer = nil
                    self.run(self.state.pongTimedOut())
                }
            case .cancelPongTimer:
                self.pongTimer?.cancel()
                self.pongTimer = nil
            case .armTokenExpiry(let expiresAt):
                guard let expiresAt, let context = self.context else {
                    self.tokenLifetime.cancel()
                    continue
                }
                let warning = TimeAmount.milliseconds(Int64(self.hub.configuration.tokenExpiryWarning))
                self.tokenLifetime.arm(expiresAt: expiresAt, warning: warning, on: context.eventLoop, onWarning: {
                    self.run(self.state.tokenExpiring())
                }, onExpiry: {
                    self.hub.metrics.recordTokenExpired()
                    self.run(self.state.tokenExpired())
                })
            case .close(let code, let reason):
                if self.closeCause == nil {
                    self.closeCause = "\(UInt16(webSocketErrorCode: code))" + (reason.isEmpty ? "" : " \(reason)")
                }
                self.sendClose(code: code, reason: reason)
            }
        }
        if needsFlush, !self.closing {
            self.context?.flush()
        }
    }

    /// Writes `message` as a text frame (unflushed) and returns its size, or `nil` if nothing may be
    /// written any more.
    private func write(_ message: JSONValue) -> Int? {
        guard !self.closing, let context = self.context else { return nil }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        message.write(into: &buffer)
        let bytes = buffer.readableBytes
        context.write(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
        return bytes
    }

    /// `stream connected` (once, when authenticated), if `logConnections` is on. Never the token.
    private func logConnected() {
        guard self.loggedSubject == nil, let principal = self.state.principal else { return }
        self.loggedSubject = principal.subject
        guard self.hub.configuration.logConnections else { return }
        self.hub.logger.info("stream connected", metadata: [
            "user": .string(principal.subject), "remote": .string(self.remoteAddress),
        ])
    }

    /// Publishes for the client (source `stream:<subject>`) and answers with the outcome; over the
    /// publish rate, answers `rate limited` (counted in `hub_limits_reached_total`).
    private func publish(_ request: StreamSessionState.Publish) {
        guard let context = self.context else {
            self.run(self.state.published(ref: request.ref, result: .failure(ChannelError.ioOnClosedChannel)))
            return
        }
        switch self.publishLimiter.admit() {
        case .allow:
            break
        case .refuse:
            self.hub.metrics.recordLimitReached(.eventRateLimit)
            return self.run(self.state.publishRateLimited(ref: request.ref, disconnect: false))
        case .disconnect:
            self.hub.metrics.recordLimitReached(.eventRateLimit)
            return self.run(self.state.publishRateLimited(ref: request.ref, disconnect: true))
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let ref = request.ref
        self.hub.broadcaster.publish(type: request.type, data: .object(request.data), namespace: request.namespace,
                                     rooms: [request.room], source: request.source)
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let outcome = result.map { (id: $0.events.first?.id ?? "", delivered: $0.delivered) }.mapError { $0 as any Error }
                handler.value.run(handler.value.state.published(ref: ref, result: outcome))
            }
    }

    /// Registers the subscriber first, then (for one room) reads the room's latest offset and
    /// history, so that no event falls between the replay and the live events (see
    /// ``StreamSessionState``). An every-readable-room subscription reads no history.
    private func startSubscription(id: StreamSessionState.SubscriptionID, filter: EventFilter, since: UInt64?) {
        guard let context = self.context, !self.closing else {
            self.run(self.state.subscriptionStarted(id: id, latestOffset: 0, history: []))
            return
        }
        let subscriber = Subscriber(id: id, handler: NIOLoopBound(self, eventLoop: context.eventLoop),
                                    group: ObjectIdentifier(self))
        self.subscribers[id] = (subscriber, filter)
        self.hub.broadcaster.subscribe(subscriber, filter: filter)
        self.hub.streamStats.subscriptionAdded(filter)
        guard let room = filter.room else {
            self.run(self.state.subscriptionStarted(id: id, latestOffset: 0, history: []))
            return
        }
        if let cluster = self.hub.cluster {
            self.startSharedSubscription(id: id, filter: filter, room: room, since: since, history: cluster.history,
                                         handler: NIOLoopBound(self, eventLoop: context.eventLoop))
            return
        }
        let history = self.hub.history
        let latestOffset = history.latestOffset(namespace: filter.namespace, room: room)
        let events = since.map { history.events(namespace: filter.namespace, room: room, since: $0) } ?? []
        self.run(self.state.subscriptionStarted(id: id, latestOffset: latestOffset, history: events))
    }

    /// ``startSubscription(id:filter:since:)`` with the history in Redis: the latest offset and the
    /// replay are read (one round trip, pipelined) after the subscriber is registered; live events
    /// wait meanwhile. If Redis cannot answer, the subscription starts without a replay.
    private func startSharedSubscription(id: StreamSessionState.SubscriptionID, filter: EventFilter, room: String, since: UInt64?,
                                         history: RedisEventHistory, handler: NIOLoopBound<StreamHandler>) {
        let latest = history.latestOffset(namespace: filter.namespace, room: room)
        let events = since.map { history.events(namespace: filter.namespace, room: room, since: $0) }
            ?? handler.eventLoop.makeSucceededFuture([])
        latest.and(events).hop(to: handler.eventLoop).whenComplete { result in
            let (latestOffset, replay) = (try? result.get()) ?? (0, [])
            handler.value.run(handler.value.state.subscriptionStarted(id: id, latestOffset: latestOffset, history: replay))
        }
    }

    /// Sends a close frame (code and reason) after what is already queued, then closes the
    /// connection once it is written, or after ``closeGracePeriod`` at the latest.
    private func sendClose(code: WebSocketErrorCode, reason: String) {
        guard !self.closing, let context = self.context else { return }
        self.closing = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        let channel = context.channel
        let deadline = channel.eventLoop.scheduleTask(in: Self.closeGracePeriod) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in deadline.cancel() }
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        context.writeAndFlush(self.wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
    }
}

extension StreamHandler {
    /// The broadcaster's subscriber for one subscription: one object per subscription, as
    /// ``EventBroadcaster/subscribe(_:filter:)`` keeps one subscription per object. A connection's
    /// subscribers share a ``deliveryGroup``, so the broadcaster hands each event to the connection
    /// once; the handler's ``StreamSessionState`` decides which subscriptions it is for. Hands each
    /// event to the handler on the connection's loop.
    final class Subscriber: EventSubscriber {
        let id: StreamSessionState.SubscriptionID
        let deliveryGroup: ObjectIdentifier?
        private let handler: NIOLoopBound<StreamHandler>

        init(id: StreamSessionState.SubscriptionID, handler: NIOLoopBound<StreamHandler>, group: ObjectIdentifier) {
            self.id = id
            self.handler = handler
            self.deliveryGroup = group
        }

        func receive(_ event: HubEvent) {
            // Always hop, even on the loop: the broadcaster may call this while the handler is busy
            // (a publish made from the same loop), and the handler is not reentrant.
            let handler = self.handler
            handler.eventLoop.execute { handler.value.deliver(event) }
        }
    }
}

import NIOCore
import NIOWebSocket
import SocketIO

/// One `/stream` connection, after the WebSocket upgrade: reads frames (reassembled by a
/// `NIOWebSocketFrameAggregator` in front of it), runs them through a ``StreamSessionState`` and
/// carries out what it decides — checking tokens, registering subscribers with the hub's
/// ``EventBroadcaster``, reading ``EventHistory``, writing messages and closing.
///
/// Everything runs on the channel's event loop. Events come from the broadcaster on any thread;
/// each subscription's ``Subscriber`` hops them to the loop, in the order it received them.
final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long a connection the server is closing may take to write its close frame (behind
    /// whatever is still buffered for a slow client) before it is dropped.
    static let closeGracePeriod = TimeAmount.seconds(2)

    private let hub: Hub
    private let queryToken: String?
    private let maxMessageSize: Int
    private var state: StreamSessionState
    private var context: ChannelHandlerContext?
    private var subscribers: [StreamSessionState.SubscriptionID: Subscriber] = [:]
    private var authTimer: Scheduled<Void>?
    private var started = false
    /// Whether a close frame was sent (or the connection is gone): nothing more is written.
    private var closing = false

    /// - Parameters:
    ///   - queryToken: The URL's `token` parameter, checked as soon as the connection opens.
    ///   - pathRoom: The room of `/stream/{room}`, subscribed in namespace `/` once authenticated.
    ///   - maxMessageSize: Larger messages close the connection with 1009.
    ///   - maxBufferedBytes: The slow-consumer bound (see ``StreamSessionState/wrote(bytes:channelWritable:)``).
    init(hub: Hub, queryToken: String?, pathRoom: String?, maxMessageSize: Int, maxBufferedBytes: Int) {
        self.hub = hub
        self.queryToken = queryToken
        self.maxMessageSize = maxMessageSize
        self.state = StreamSessionState(pathRoom: pathRoom, maxSubscriptions: StreamEndpoint.maxSubscriptionsPerConnection,
                                        maxBufferedBytes: maxBufferedBytes)
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
        guard !self.started else { return }
        self.started = true
        self.run(self.state.start(queryToken: self.queryToken))
    }

    /// Ends every subscription; safe to call more than once.
    private func tearDown() {
        self.closing = true
        self.run(self.state.connectionClosed())
        for subscriber in self.subscribers.values {
            self.hub.broadcaster.unsubscribe(subscriber)
        }
        self.subscribers.removeAll()
        self.authTimer?.cancel()
        self.authTimer = nil
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
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

    /// A live event for subscription `id`, on the loop.
    private func deliver(_ event: HubEvent, subscription id: StreamSessionState.SubscriptionID) {
        self.run(self.state.receive(event: event, subscription: id))
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
                if let subscriber = self.subscribers.removeValue(forKey: id) {
                    self.hub.broadcaster.unsubscribe(subscriber)
                }
            case .close(let code, let reason):
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

    /// Registers the subscriber first, then reads the room's latest offset and history, so that no
    /// event falls between the replay and the live events (see ``StreamSessionState``).
    private func startSubscription(id: StreamSessionState.SubscriptionID, filter: EventFilter, since: UInt64?) {
        guard let context = self.context, !self.closing, let room = filter.room else {
            self.run(self.state.subscriptionStarted(id: id, latestOffset: 0, history: []))
            return
        }
        let subscriber = Subscriber(id: id, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        self.subscribers[id] = subscriber
        self.hub.broadcaster.subscribe(subscriber, filter: filter)
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
    /// ``EventBroadcaster/subscribe(_:filter:)`` keeps one subscription per object. Hands each event
    /// to the handler on the connection's loop.
    final class Subscriber: EventSubscriber {
        let id: StreamSessionState.SubscriptionID
        private let handler: NIOLoopBound<StreamHandler>

        init(id: StreamSessionState.SubscriptionID, handler: NIOLoopBound<StreamHandler>) {
            self.id = id
            self.handler = handler
        }

        func receive(_ event: HubEvent) {
            // Always hop, even on the loop: the broadcaster may call this while the handler is busy
            // (a publish made from the same loop), and the handler is not reentrant.
            let handler = self.handler
            let id = self.id
            handler.eventLoop.execute { handler.value.deliver(event, subscription: id) }
        }
    }
}

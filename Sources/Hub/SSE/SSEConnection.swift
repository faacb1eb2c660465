import EngineIO
import Logging
import NIOCore

/// One `/sse` stream, once its head is out: runs what happens through an ``SSESessionState`` and
/// carries out what it decides — registering the subscriber with the hub's ``EventBroadcaster``,
/// reading the room's history, writing messages to the ``HTTPResponseStream``, the heartbeat timer,
/// closing — and keeps the node's counts and the connection log.
///
/// Everything runs on the connection's event loop. Events come from the broadcaster on any thread;
/// the ``Subscriber`` hops them to the loop in the order it received them (the same one hop per
/// event as `/stream`).
final class SSEConnection {
    private let hub: Hub
    private let stream: HTTPResponseStream
    private let principal: Principal
    private let heartbeatInterval: TimeAmount
    private var state: SSESessionState
    private var subscriber: Subscriber?
    private var heartbeat: RepeatedTask?
    /// Ends the stream when its token expires.
    private let tokenLifetime = TokenLifetime()
    private let openedAt = NIODeadline.now()
    private var closeReason = "connection closed"

    /// - Parameters:
    ///   - stream: The response, head already written.
    ///   - principal: Who the token says the client is (for the log).
    init(hub: Hub, stream: HTTPResponseStream, principal: Principal, state: SSESessionState, heartbeatInterval: TimeAmount) {
        self.hub = hub
        self.stream = stream
        self.principal = principal
        self.state = state
        self.heartbeatInterval = heartbeatInterval
    }

    /// Starts the stream: `retry:`, the subscription (replay, then live events), the heartbeat. The
    /// stream must have been counted in ``Hub/sseStats``; it is uncounted when the connection closes.
    func start() {
        self.stream.onClose { self.connectionClosed() }
        if let expiresAt = self.principal.expiresAt {
            let connection = NIOLoopBound(self, eventLoop: self.stream.eventLoop)
            self.tokenLifetime.arm(expiresAt: expiresAt, warning: .zero, on: self.stream.eventLoop, onWarning: {}, onExpiry: {
                connection.value.hub.metrics.recordTokenExpired()
                connection.value.run(connection.value.state.tokenExpired(at: expiresAt))
            })
        }
        if self.hub.configuration.logConnections {
            self.hub.logger.info("sse connected", metadata: self.logMetadata)
        }
        self.run(self.state.start())
    }

    private var logMetadata: Logger.Metadata {
        [
            "namespace": "\(self.state.namespace)",
            "room": "\(self.state.room)",
            "user": "\(self.principal.subject)",
            "remote": "\(self.stream.remoteAddress.map { "\($0)" } ?? "unknown")",
        ]
    }

    /// The connection closed (the client went, the server ended the stream, or a drain).
    private func connectionClosed() {
        self.tokenLifetime.cancel()
        self.run(self.state.connectionClosed())
        self.hub.sseStats.close(namespace: self.state.namespace, room: self.state.room)
        if self.hub.configuration.logConnections {
            var metadata = self.logMetadata
            metadata["duration_ms"] = "\((NIODeadline.now() - self.openedAt).nanoseconds / 1_000_000)"
            metadata["reason"] = "\(self.closeReason)"
            self.hub.logger.info("sse disconnected", metadata: metadata)
        }
    }

    /// A live event, on the loop.
    private func deliver(_ event: HubEvent) {
        self.run(self.state.receive(event: event))
    }

    // MARK: - Actions

    private func run(_ actions: [SSESessionState.Action]) {
        var needsFlush = false
        for action in actions {
            switch action {
            case .send(let message):
                guard let bytes = self.write(message) else { continue }
                needsFlush = true
                self.run(self.state.wrote(bytes: bytes, channelWritable: self.stream.isWritable))
            case .replay(let message):
                if self.write(message) != nil {
                    needsFlush = true
                }
            case .startSubscription(let filter, let since):
                self.startSubscription(filter: filter, since: since)
            case .endSubscription:
                if let subscriber = self.subscriber {
                    self.subscriber = nil
                    self.hub.broadcaster.unsubscribe(subscriber)
                }
            case .startHeartbeat:
                guard self.heartbeat == nil, self.stream.isOpen else { continue }
                let connection = NIOLoopBound(self, eventLoop: self.stream.eventLoop)
                self.heartbeat = self.stream.eventLoop.scheduleRepeatedTask(
                    initialDelay: self.heartbeatInterval, delay: self.heartbeatInterval
                ) { _ in
                    connection.value.run(connection.value.state.heartbeat())
                }
            case .cancelHeartbeat:
                self.heartbeat?.cancel()
                self.heartbeat = nil
            case .close(let reason):
                self.closeReason = reason.rawValue
                if reason == .slowConsumer {
                    self.hub.metrics.recordSSESlowConsumerClose()
                }
                self.stream.close()
            }
        }
        if needsFlush {
            self.stream.flush()
        }
    }

    /// Writes `message` (unflushed) and returns its size, or `nil` if the stream has ended.
    private func write(_ message: SSEMessage) -> Int? {
        guard self.stream.isOpen else { return nil }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(256)
        message.write(into: &buffer)
        let bytes = buffer.readableBytes
        self.stream.write(buffer)
        return bytes
    }

    /// Registers the subscriber first, then reads the room's latest offset and history, so that no
    /// event falls between the replay and the live events (``HistoryHandover``).
    private func startSubscription(filter: EventFilter, since: UInt64?) {
        guard self.stream.isOpen, let room = filter.room else { return }
        let loop = self.stream.eventLoop
        let subscriber = Subscriber(connection: NIOLoopBound(self, eventLoop: loop))
        self.subscriber = subscriber
        self.hub.broadcaster.subscribe(subscriber, filter: filter)
        let connection = NIOLoopBound(self, eventLoop: loop)
        HistoryHandover.read(from: self.hub, namespace: filter.namespace, room: room, since: since, on: loop)
            .whenSuccess { latestOffset, events in
                connection.value.run(connection.value.state.subscriptionStarted(latestOffset: latestOffset, history: events))
            }
    }
}

extension SSEConnection {
    /// The broadcaster's subscriber for the stream: hands each event to the connection on its loop.
    final class Subscriber: EventSubscriber {
        private let connection: NIOLoopBound<SSEConnection>

        init(connection: NIOLoopBound<SSEConnection>) {
            self.connection = connection
        }

        func receive(_ event: HubEvent) {
            // Always hop, even on the loop: the broadcaster may call this while the connection is
            // busy (a publish made from the same loop), and the connection is not reentrant.
            let connection = self.connection
            connection.eventLoop.execute { connection.value.deliver(event) }
        }
    }
}

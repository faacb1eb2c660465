import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A pub/sub connection to Redis: subscribes to channels and patterns, hands each message to the
/// subscription's handler on its event loop, and re-subscribes everything after a reconnect (with the
/// same backoff as ``RedisConnection``).
///
/// ```swift
/// let subscriber = RedisSubscriber(configuration: .init(url: url), eventLoop: loop)
/// subscriber.start()
/// try await subscriber.subscribe(["news"]) { message in print(String(buffer: message.payload)) }.get()
/// ```
public final class RedisSubscriber: @unchecked Sendable {
    /// Handles a message; runs on the subscriber's event loop, in arrival order.
    public typealias MessageHandler = @Sendable (RedisPubSubMessage) -> Void

    /// The settings.
    public let configuration: RedisConnectionConfiguration
    /// The loop messages are delivered on.
    public let eventLoop: EventLoop
    private let logger: Logger

    // Touched on `eventLoop` only.
    private var machine = RedisConnectionStateMachine<Void>(maxQueued: 0)
    private var subscriptions = RedisSubscriptionSet()
    private var handlers: [RedisSubscriptionKind: [String: MessageHandler]] = [.channel: [:], .pattern: [:]]
    private var waiters: [RedisSubscriptionKind: [String: [EventLoopPromise<Void>]]] = [.channel: [:], .pattern: [:]]
    private var channel: Channel?
    private var retryTimer: Scheduled<Void>?
    private var stateHandlers: [@Sendable (RedisConnectionEvent) -> Void] = []
    private let connectedBox = NIOLockedValueBox(false)

    /// A subscriber to `configuration.url`; call ``start()`` to connect.
    public init(configuration: RedisConnectionConfiguration, eventLoop: EventLoop, logger: Logger = Logger(label: "redis.pubsub")) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Whether the connection is up now.
    public var isConnected: Bool { self.connectedBox.withLockedValue { $0 } }

    /// Starts connecting.
    public func start() {
        self.onLoop { this in
            if this.machine.start() { this.connect() }
        }
    }

    /// Calls `handler` on the subscriber's loop each time it connects or loses its connection.
    public func onStateChange(_ handler: @escaping @Sendable (RedisConnectionEvent) -> Void) {
        self.onLoop { $0.stateHandlers.append(handler) }
    }

    /// Subscribes to `channels`, each message going to `handler` (replacing an earlier handler of
    /// the same channel). The future succeeds once Redis confirmed every channel (after a
    /// reconnect if Redis is away now); it fails only if the subscriber is closed.
    public func subscribe(_ channels: [String], _ handler: @escaping MessageHandler) -> EventLoopFuture<Void> {
        self.add(channels, kind: .channel, handler)
    }

    /// Subscribes to the glob-style `patterns` (`PSUBSCRIBE`); see ``subscribe(_:_:)``.
    public func psubscribe(_ patterns: [String], _ handler: @escaping MessageHandler) -> EventLoopFuture<Void> {
        self.add(patterns, kind: .pattern, handler)
    }

    /// Unsubscribes from `channels`; their handlers are dropped at once.
    public func unsubscribe(_ channels: [String]) -> EventLoopFuture<Void> {
        self.remove(channels, kind: .channel)
    }

    /// Unsubscribes from `patterns`.
    public func punsubscribe(_ patterns: [String]) -> EventLoopFuture<Void> {
        self.remove(patterns, kind: .pattern)
    }

    /// Closes for good; waiting subscribe futures fail with ``RedisClientError/closed``.
    public func close() -> EventLoopFuture<Void> {
        self.eventLoop.flatSubmit {
            _ = self.machine.close()
            self.retryTimer?.cancel()
            self.connectedBox.withLockedValue { $0 = false }
            for kind in [RedisSubscriptionKind.channel, .pattern] {
                for promise in self.waiters[kind]!.values.flatMap({ $0 }) { promise.fail(RedisClientError.closed) }
                self.waiters[kind] = [:]
            }
            guard let channel = self.channel else { return self.eventLoop.makeSucceededVoidFuture() }
            self.channel = nil
            return channel.close().recover { _ in }
        }
    }

    // MARK: Internal

    private func add(_ names: [String], kind: RedisSubscriptionKind, _ handler: @escaping MessageHandler) -> EventLoopFuture<Void> {
        self.eventLoop.flatSubmit {
            if case .closed = self.machine.state { return self.eventLoop.makeFailedFuture(RedisClientError.closed) }
            for name in names { self.handlers[kind]![name] = handler }
            let added = self.subscriptions.add(names, kind: kind)
            var futures: [EventLoopFuture<Void>] = []
            for name in names where !self.subscriptions.isConfirmed(name, kind: kind) {
                let promise = self.eventLoop.makePromise(of: Void.self)
                self.waiters[kind]![name, default: []].append(promise)
                futures.append(promise.futureResult)
            }
            if !added.isEmpty, case .ready = self.machine.state, let channel = self.channel {
                channel.writeAndFlush(RedisCommandHandler.Request(command: RESPEncoder.command(kind.subscribeCommand, added.map(RESPValue.bulk)), promise: nil), promise: nil)
            }
            return EventLoopFuture.andAllSucceed(futures, on: self.eventLoop)
        }
    }

    private func remove(_ names: [String], kind: RedisSubscriptionKind) -> EventLoopFuture<Void> {
        self.eventLoop.submit {
            let removed = self.subscriptions.remove(names, kind: kind)
            for name in removed {
                self.handlers[kind]!.removeValue(forKey: name)
                for promise in self.waiters[kind]!.removeValue(forKey: name) ?? [] { promise.succeed() }
            }
            if !removed.isEmpty, case .ready = self.machine.state, let channel = self.channel {
                channel.writeAndFlush(RedisCommandHandler.Request(command: RESPEncoder.command(kind.unsubscribeCommand, removed.map(RESPValue.bulk)), promise: nil), promise: nil)
            }
        }
    }

    private func handle(_ value: RESPValue) {
        switch RedisPubSubPush(value) {
        case .message(let message)?:
            let handler = message.pattern.map { self.handlers[.pattern]![$0] } ?? self.handlers[.channel]![message.channel]
            handler?(message)
        case .subscribed(let kind, let name)?:
            if self.subscriptions.confirm(name, kind: kind) {
                for promise in self.waiters[kind]!.removeValue(forKey: name) ?? [] { promise.succeed() }
            }
        case .unsubscribed?:
            break
        case nil:
            self.logger.warning("unexpected reply on the Redis pub/sub connection", metadata: ["reply": "\(value)"])
        }
    }

    private func connect() {
        RedisChannelConnector.connect(
            configuration: self.configuration, eventLoop: self.eventLoop, selectDatabase: false,
            onPush: { [weak self] value in self?.handle(value) },
            onClose: { [weak self] error in self?.channelClosed(error) }
        ).whenComplete { result in
            switch result {
            case .success(let channel) where channel.isActive:
                guard self.machine.connected() != nil else {
                    channel.close(promise: nil)
                    return
                }
                self.channel = channel
                self.connectedBox.withLockedValue { $0 = true }
                let (channels, patterns) = self.subscriptions.all
                if !channels.isEmpty {
                    channel.write(RedisCommandHandler.Request(command: RESPEncoder.command("SUBSCRIBE", channels.map(RESPValue.bulk)), promise: nil), promise: nil)
                }
                if !patterns.isEmpty {
                    channel.write(RedisCommandHandler.Request(command: RESPEncoder.command("PSUBSCRIBE", patterns.map(RESPValue.bulk)), promise: nil), promise: nil)
                }
                channel.flush()
                for handler in self.stateHandlers { handler(.connected) }
            case .success:
                self.connectFailed(RedisClientError.connectionLost)
            case .failure(let error):
                self.connectFailed(error)
            }
        }
    }

    private func connectFailed(_ error: any Error) {
        guard let attempt = self.machine.connectFailed().retryAttempt else { return }
        for handler in self.stateHandlers { handler(.disconnected(error)) }
        self.scheduleRetry(attempt: attempt)
    }

    private func channelClosed(_ error: any Error) {
        self.channel = nil
        self.connectedBox.withLockedValue { $0 = false }
        _ = self.subscriptions.connectionLost()
        guard let attempt = self.machine.connectionLost() else { return }
        self.logger.warning("lost the Redis pub/sub connection", metadata: ["url": "\(self.configuration.url)", "error": "\(error)"])
        for handler in self.stateHandlers { handler(.disconnected(error)) }
        self.scheduleRetry(attempt: attempt)
    }

    private func scheduleRetry(attempt: Int) {
        let delay = self.configuration.reconnect.delay(attempt: attempt, random: Double.random(in: 0..<1))
        self.retryTimer = self.eventLoop.scheduleTask(in: delay) {
            self.retryTimer = nil
            if self.machine.retryTimerFired() { self.connect() }
        }
    }

    private func onLoop(_ body: @escaping @Sendable (RedisSubscriber) -> Void) {
        if self.eventLoop.inEventLoop {
            body(self)
        } else {
            self.eventLoop.execute { body(self) }
        }
    }
}

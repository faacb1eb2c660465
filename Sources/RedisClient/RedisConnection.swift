import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One pipelined connection to Redis that reconnects by itself.
///
/// Commands are written in call order and their replies matched first-in first-out, with any
/// number in flight. On connect the client sends `AUTH` (if the URL has a password) and `SELECT`
/// (if its database is not 0) before anything else.
///
/// When the connection drops, commands already written fail with
/// ``RedisClientError/connectionLost`` (they may or may not have run), and the client reconnects
/// after ``RedisConnectionConfiguration/reconnect``'s backoff. While it connects, new commands are
/// queued (at most ``RedisConnectionConfiguration/maxPendingCommands``); while it waits between
/// attempts they fail at once with ``RedisClientError/notConnected``, so callers notice an outage
/// instead of piling up work.
///
/// ```swift
/// let redis = RedisConnection(configuration: .init(url: try RedisURL("redis://127.0.0.1:6379/0")), eventLoop: loop)
/// redis.start()
/// _ = try await redis.send("SET", "greeting", "hello")
/// let value = try await redis.send("GET", "greeting").string   // "hello"
/// ```
///
/// Blocking commands (`XREAD BLOCK`, `BLPOP`) hold the pipeline until they return: give them their
/// own connection.
public final class RedisConnection: @unchecked Sendable {
    /// The settings.
    public let configuration: RedisConnectionConfiguration
    /// The loop the connection lives on; futures complete there.
    public let eventLoop: EventLoop
    private let logger: Logger

    // Touched on `eventLoop` only.
    private var machine: RedisConnectionStateMachine<RedisCommandHandler.Request>
    private var channel: Channel?
    private var retryTimer: Scheduled<Void>?
    private var stateHandlers: [@Sendable (RedisConnectionEvent) -> Void] = []
    private let connectedBox = NIOLockedValueBox(false)

    /// A connection to `configuration.url` on `eventLoop`; call ``start()`` to connect.
    public init(configuration: RedisConnectionConfiguration, eventLoop: EventLoop,
                logger: Logger = Logger(label: "redis")) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.machine = RedisConnectionStateMachine(maxQueued: configuration.maxPendingCommands)
    }

    /// Whether a connection is up now (it may drop the next moment).
    public var isConnected: Bool { self.connectedBox.withLockedValue { $0 } }

    /// Starts connecting (commands sent before the connection is up are queued).
    public func start() {
        self.onLoop { this in
            if this.machine.start() { this.connect() }
        }
    }

    /// Calls `handler` on the connection's loop each time it connects or loses its connection.
    public func onStateChange(_ handler: @escaping @Sendable (RedisConnectionEvent) -> Void) {
        self.onLoop { $0.stateHandlers.append(handler) }
    }

    /// Sends `command` with `arguments`; the future has the reply, or fails with
    /// ``RedisServerError`` (an error reply) or ``RedisClientError``.
    public func send(command: String, arguments: [RESPValue]) -> EventLoopFuture<RESPValue> {
        let promise = self.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisCommandHandler.Request(command: RESPEncoder.command(command, arguments), promise: promise)
        self.onLoop { this in
            switch this.machine.send(request) {
            case .write(let request):
                this.channel?.writeAndFlush(request, promise: nil)
            case .queued:
                break
            case .fail(let request, let error):
                request.promise?.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Sends `command` with `arguments` and waits for the reply.
    /// - Throws: ``RedisServerError`` or ``RedisClientError``.
    @discardableResult
    public func send(_ command: String, _ arguments: RESPValue...) async throws -> RESPValue {
        try await self.send(command: command, arguments: arguments).get()
    }

    /// Closes the connection for good; queued and in-flight commands fail.
    public func close() -> EventLoopFuture<Void> {
        self.eventLoop.flatSubmit {
            for request in self.machine.close() {
                request.promise?.fail(RedisClientError.closed)
            }
            self.retryTimer?.cancel()
            self.retryTimer = nil
            self.connectedBox.withLockedValue { $0 = false }
            guard let channel = self.channel else { return self.eventLoop.makeSucceededVoidFuture() }
            self.channel = nil
            return channel.close().recover { _ in }
        }
    }

    /// Closes for good and waits.
    public func close() async throws {
        try await self.close().get()
    }

    // MARK: Internal

    private func connect() {
        RedisChannelConnector.connect(
            configuration: self.configuration, eventLoop: self.eventLoop, selectDatabase: true,
            onPush: { [logger] value in logger.warning("unexpected Redis reply", metadata: ["reply": "\(value)"]) },
            onClose: { [weak self] error in self?.channelClosed(error) }
        ).whenComplete { result in
            switch result {
            case .success(let channel) where !channel.isActive:
                // Dropped between the handshake and now: count it as a failed attempt.
                self.connectFailed(RedisClientError.connectionLost)
            case .success(let channel):
                guard let queued = self.machine.connected() else {
                    channel.close(promise: nil)
                    return
                }
                self.channel = channel
                self.connectedBox.withLockedValue { $0 = true }
                self.logger.debug("connected to Redis", metadata: ["url": "\(self.configuration.url)"])
                for request in queued {
                    channel.write(request, promise: nil)
                }
                channel.flush()
                self.notify(.connected)
            case .failure(let error):
                self.connectFailed(error)
            }
        }
    }

    private func connectFailed(_ error: any Error) {
        let (attempt, failed) = self.machine.connectFailed()
        for request in failed {
            request.promise?.fail(RedisClientError.notConnected)
        }
        if let attempt {
            self.logger.debug("Redis connect failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            self.notify(.disconnected(error))
            self.scheduleRetry(attempt: attempt)
        }
    }

    private func channelClosed(_ error: any Error) {
        self.eventLoop.assertInEventLoop()
        self.channel = nil
        self.connectedBox.withLockedValue { $0 = false }
        guard let attempt = self.machine.connectionLost() else { return }
        self.logger.warning("lost the Redis connection", metadata: ["url": "\(self.configuration.url)", "error": "\(error)"])
        self.notify(.disconnected(error))
        self.scheduleRetry(attempt: attempt)
    }

    private func scheduleRetry(attempt: Int) {
        let delay = self.configuration.reconnect.delay(attempt: attempt, random: Double.random(in: 0..<1))
        self.retryTimer = self.eventLoop.scheduleTask(in: delay) {
            self.retryTimer = nil
            if self.machine.retryTimerFired() { self.connect() }
        }
    }

    private func notify(_ event: RedisConnectionEvent) {
        for handler in self.stateHandlers { handler(event) }
    }

    private func onLoop(_ body: @escaping @Sendable (RedisConnection) -> Void) {
        if self.eventLoop.inEventLoop {
            body(self)
        } else {
            self.eventLoop.execute { body(self) }
        }
    }
}

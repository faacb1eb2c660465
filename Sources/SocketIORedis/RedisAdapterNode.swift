import Logging
import NIOConcurrencyHelpers
import NIOCore
import RedisClient
import SocketIO

/// This process's membership in a cluster of Socket.IO servers that share one Redis: one per
/// process, shared by the ``RedisAdapter`` of every namespace.
///
/// It holds three Redis connections: commands (`XADD`, `PUBLISH`), a blocking reader (`XREAD
/// BLOCK` on the cluster stream) and a subscriber (cluster requests and their responses).
///
/// ```swift
/// let node = RedisAdapterNode(configuration: .init(redis: .init(url: try RedisURL("redis://127.0.0.1:6379"))), group: group)
/// let io = SocketIOServer(configuration: settings, group: group,
///                         adapterFactory: node.adapterFactory(recovery: settings.connectionStateRecovery))
/// io.of("/chat")            // create namespaces first: entries for unknown namespaces are skipped
/// node.start()
/// ```
public final class RedisAdapterNode: @unchecked Sendable {
    /// The node's settings.
    public struct Configuration: Sendable {
        /// The Redis server and the connections' reconnect behaviour.
        public var redis: RedisConnectionConfiguration
        /// The cluster stream's key; request/response channels are named after it
        /// (`<key>#request`, `<key>#response#<uid>`). Default `socket.io` (as socket.io's streams adapter).
        public var streamKey: String = "socket.io"
        /// The stream is trimmed to about this many entries (`XADD MAXLEN ~`): the replay window for
        /// recovery across nodes. Default 10 000 (socket.io's streams adapter: 10 000).
        public var maxStreamLength: Int = 10_000
        /// Entries read per `XREAD`. Default 100.
        public var readCount: Int = 100
        /// How long one `XREAD` blocks before it is re-issued. Default 5 s.
        public var readBlock: TimeAmount = .seconds(5)
        /// How long a cluster request (``RedisAdapter/socketIDs(options:)``) waits for every node.
        /// Default 5 s (socket.io's `requestsTimeout`).
        public var requestTimeout: TimeAmount = .seconds(5)
        /// How far back a starting node reads the stream, to learn recent broadcasts and sessions (so
        /// clients of a node that went away can recover here). Default 120 s (socket.io's
        /// `maxDisconnectionDuration`); zero reads only what comes after the start.
        public var catchUp: TimeAmount = .milliseconds(120_000)
        /// How ``Socket/userInfo`` crosses nodes in persisted sessions.
        public var userInfoCodec: UserInfoCodec = .jsonValues
        /// How often the node appends a heartbeat to the stream. The session records of a node's
        /// connected sockets (for recovery after a crash) expire `maxDisconnectionDuration` after the
        /// node's last entry, so they must be refreshed well within it. Default 5 s.
        public var heartbeatInterval: TimeAmount = .seconds(5)

        /// Settings for `redis`, the rest at their defaults.
        public init(redis: RedisConnectionConfiguration) {
            self.redis = redis
        }
    }

    /// The node's random id (in every message it sends).
    public let uid: String
    /// The settings.
    public let configuration: Configuration
    /// Counters for `/metrics`.
    public let metrics = RedisAdapterMetrics()
    let logger: Logger
    let commands: RedisConnection
    let reader: RedisConnection
    let subscriber: RedisSubscriber
    private let adapters = NIOLockedValueBox<[String: RedisAdapter]>([:])
    private let pending = NIOLockedValueBox<[String: PendingRequest]>([:])

    // Touched on `reader.eventLoop` only.
    private var lastID: StreamID?
    private var readerWaiting = false
    private var stopped = false
    private let heartbeat = NIOLockedValueBox<RepeatedTask?>(nil)

    private struct PendingRequest {
        var expected: Int
        var ids: [String]
        var received: Int
        var promise: EventLoopPromise<[String]>
        var timer: Scheduled<Void>?
    }

    /// A node on `group` (its three connections take loops from it); call ``start()``.
    public init(configuration: Configuration, group: EventLoopGroup, logger: Logger = Logger(label: "socketio.redis")) {
        self.configuration = configuration
        self.uid = Self.randomID()
        self.logger = logger
        self.commands = RedisConnection(configuration: configuration.redis, eventLoop: group.next(), logger: logger)
        self.reader = RedisConnection(configuration: configuration.redis, eventLoop: group.next(), logger: logger)
        self.subscriber = RedisSubscriber(configuration: configuration.redis, eventLoop: group.next(), logger: logger)
    }

    var requestChannel: String { self.configuration.streamKey + "#request" }
    func responseChannel(_ uid: String) -> String { self.configuration.streamKey + "#response#" + uid }

    /// Whether the command connection to Redis is up now.
    public var isConnected: Bool { self.commands.isConnected }

    /// Calls `handler` each time the command connection to Redis comes up or goes away.
    public func onConnectionChange(_ handler: @escaping @Sendable (RedisConnectionEvent) -> Void) {
        self.commands.onStateChange(handler)
    }

    /// Connects, subscribes to the request channels and starts reading the cluster stream. The
    /// future succeeds once the request channels are subscribed (after Redis is reachable).
    @discardableResult
    public func start() -> EventLoopFuture<Void> {
        self.commands.onStateChange { [weak self] event in self?.commandsStateChanged(event) }
        self.reader.onStateChange { [weak self] event in
            guard let self, case .connected = event, self.readerWaiting else { return }
            self.readerWaiting = false
            self.read()
        }
        self.commands.start()
        self.reader.start()
        self.subscriber.start()
        self.reader.eventLoop.execute { self.read() }
        let task = self.commands.eventLoop.scheduleRepeatedTask(initialDelay: self.configuration.heartbeatInterval,
                                                                delay: self.configuration.heartbeatInterval) { [weak self] _ in
            guard let self, self.isConnected else { return }
            _ = self.publish(ClusterMessage(origin: self.uid, namespace: "", body: .heartbeat))
        }
        self.heartbeat.withLockedValue { $0 = task }
        let requests = self.subscriber.subscribe([self.requestChannel]) { [weak self] message in self?.handleRequest(message) }
        let responses = self.subscriber.subscribe([self.responseChannel(self.uid)]) { [weak self] message in self?.handleResponse(message) }
        return requests.and(responses).map { _ in }
    }

    /// Stops reading and closes the connections.
    public func shutdown() async {
        self.heartbeat.withLockedValue { $0 }?.cancel()
        try? await self.reader.eventLoop.submit { self.stopped = true }.get()
        try? await self.reader.close()
        try? await self.commands.close()
        try? await self.subscriber.close().get()
    }

    /// The factory to hand to ``SocketIOServer``: a ``RedisAdapter`` per namespace.
    public func adapterFactory(recovery: ConnectionStateRecovery?) -> SocketIOServer.AdapterFactory {
        { namespace, group in self.makeAdapter(namespace: namespace, group: group, recovery: recovery) }
    }

    /// The adapter of `namespace`, registered with this node.
    public func makeAdapter(namespace: String, group: EventLoopGroup, recovery: ConnectionStateRecovery?) -> RedisAdapter {
        let adapter = RedisAdapter(node: self, namespace: namespace, group: group, recovery: recovery)
        self.adapters.withLockedValue { $0[namespace] = adapter }
        return adapter
    }

    // MARK: Publishing

    /// Appends `message` to the cluster stream; the future has its id.
    func publish(_ message: ClusterMessage) -> EventLoopFuture<StreamID> {
        let arguments: [RESPValue] = [.bulk(self.configuration.streamKey), "MAXLEN", "~",
                                      .bulk(String(self.configuration.maxStreamLength)), "*"] + message.fields
        return self.commands.send(command: "XADD", arguments: arguments).flatMapThrowing { reply in
            guard let text = reply.string, let id = StreamID(text) else { throw RedisClientError.unexpectedReply("\(reply)") }
            return id
        }.flatMapErrorThrowing { error in
            self.metrics.update { $0.publishFailures += 1 }
            throw error
        }
    }

    private func commandsStateChanged(_ event: RedisConnectionEvent) {
        switch event {
        case .connected:
            let wasOutage = self.metrics.snapshot.outages > 0
            self.metrics.update { $0.connected = true }
            if wasOutage { self.logger.notice("Redis is back: cross-node delivery resumes") }
        case .disconnected(let error):
            var counted = false
            self.metrics.update { snapshot in
                if snapshot.connected {
                    snapshot.outages += 1
                    counted = true
                }
                snapshot.connected = false
            }
            if counted {
                self.logger.error("Redis is away: delivering to this node's clients only", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Reading the stream (on reader.eventLoop)

    private func read() {
        self.reader.eventLoop.assertInEventLoop()
        guard !self.stopped else { return }
        guard let lastID = self.lastID else {
            // Where to start: Redis' clock minus the catch-up window.
            self.reader.send(command: "TIME", arguments: []).whenComplete { result in
                switch result {
                case .success(let reply):
                    let seconds = UInt64(reply.array?.first?.int ?? 0)
                    let micros = UInt64(reply.array?.dropFirst().first?.int ?? 0)
                    let now = seconds * 1000 + micros / 1000
                    let back = UInt64(max(self.configuration.catchUp.nanoseconds / 1_000_000, 0))
                    let start = StreamID(milliseconds: now > back ? now - back : 0, sequence: 0)
                    self.lastID = start
                    for adapter in self.adapters.withLockedValue({ Array($0.values) }) {
                        adapter.startReading(after: start)
                    }
                    self.read()
                case .failure(let error):
                    self.readFailed(error)
                }
            }
            return
        }
        let arguments: [RESPValue] = ["COUNT", .bulk(String(self.configuration.readCount)),
                                      "BLOCK", .bulk(String(self.configuration.readBlock.nanoseconds / 1_000_000)),
                                      "STREAMS", .bulk(self.configuration.streamKey), .bulk(lastID.description)]
        self.reader.send(command: "XREAD", arguments: arguments).whenComplete { result in
            switch result {
            case .success(let reply):
                self.handle(reply)
                self.read()
            case .failure(let error):
                self.readFailed(error)
            }
        }
    }

    private func readFailed(_ error: any Error) {
        guard !self.stopped else { return }
        switch error {
        case RedisClientError.closed:
            return
        case RedisClientError.notConnected, RedisClientError.connectionLost:
            if self.reader.isConnected {
                self.read()
            } else {
                self.readerWaiting = true
            }
        default:
            self.logger.warning("reading the cluster stream failed", metadata: ["error": "\(error)"])
            self.reader.eventLoop.scheduleTask(in: .milliseconds(100)) { self.read() }
        }
    }

    /// An `XREAD` reply: `[[key, [[id, [field, value, …]], …]]]` or null (timeout).
    private func handle(_ reply: RESPValue) {
        guard let streams = reply.array else { return }
        var batches: [String: [(StreamID, ClusterMessage)]] = [:]
        var order: [String] = []
        var read = 0
        var malformed = 0
        var origins = Set<String>()
        for stream in streams {
            for entry in stream.array?.dropFirst().first?.array ?? [] {
                guard let parts = entry.array, parts.count == 2, let idText = parts[0].string, let id = StreamID(idText) else {
                    malformed += 1
                    continue
                }
                self.lastID = max(self.lastID ?? id, id)
                read += 1
                guard let fields = parts[1].array, let message = ClusterMessage(fields: fields) else {
                    malformed += 1
                    continue
                }
                origins.insert(message.origin)
                if case .heartbeat = message.body { continue }
                if batches[message.namespace] == nil { order.append(message.namespace) }
                batches[message.namespace, default: []].append((id, message))
            }
        }
        self.metrics.update {
            $0.entriesRead += read
            $0.malformedEntries += malformed
        }
        let adapters = self.adapters.withLockedValue { $0 }
        if !origins.isEmpty {
            let now = NIODeadline.now()
            for adapter in adapters.values { adapter.noteAlive(origins, now: now) }
        }
        for namespace in order {
            adapters[namespace]?.receive(batches[namespace]!)
        }
    }

    // MARK: Cluster requests (pub/sub)

    /// Asks every other node for the ids of its sockets the options select in `namespace`.
    func requestSocketIDs(namespace: String, options: BroadcastOptions, timeout: TimeAmount) -> EventLoopFuture<[String]> {
        let loop = self.commands.eventLoop
        let rid = Self.randomID()
        var request = JSONObject()
        request["u"] = .string(self.uid)
        request["r"] = .string(rid)
        request["n"] = .string(namespace)
        request["o"] = ClusterMessage.encode(options)
        let payload = JSONValue.object(request).jsonString
        return self.commands.send(command: "PUBSUB", arguments: ["NUMSUB", .bulk(self.requestChannel)]).flatMap { reply in
            let nodes = Int(reply.array?.dropFirst().first?.int ?? 1)
            let expected = max(nodes - 1, 0)
            guard expected > 0 else { return loop.makeSucceededFuture([]) }
            let promise = loop.makePromise(of: [String].self)
            let timer = loop.scheduleTask(in: timeout) {
                guard let entry = self.pending.withLockedValue({ $0.removeValue(forKey: rid) }) else { return }
                self.metrics.update { $0.requestTimeouts += 1 }
                entry.promise.fail(RedisAdapterError.timeout(received: entry.received, expected: entry.expected))
            }
            self.pending.withLockedValue {
                $0[rid] = PendingRequest(expected: expected, ids: [], received: 0, promise: promise, timer: timer)
            }
            return self.commands.send(command: "PUBLISH", arguments: [.bulk(self.requestChannel), .bulk(payload)])
                .flatMap { _ in promise.futureResult }
                .flatMapError { error in
                    if let entry = self.pending.withLockedValue({ $0.removeValue(forKey: rid) }) {
                        entry.timer?.cancel()
                        entry.promise.fail(error)
                    }
                    return loop.makeFailedFuture(error)
                }
        }
    }

    private func handleRequest(_ message: RedisPubSubMessage) {
        guard let request = try? JSONValue.parse(message.payload), let from = request["u"]?.stringValue, from != self.uid,
              let rid = request["r"]?.stringValue, let namespace = request["n"]?.stringValue,
              let optionsJSON = request["o"], let options = ClusterMessage.decodeOptions(optionsJSON.jsonString) else { return }
        let adapter = self.adapters.withLockedValue { $0[namespace] }
        let ids = adapter?.localSocketIDs(options: options) ?? self.commands.eventLoop.makeSucceededFuture([])
        ids.whenSuccess { ids in
            var response = JSONObject()
            response["r"] = .string(rid)
            response["s"] = .array(ids.map(JSONValue.string))
            _ = self.commands.send(command: "PUBLISH", arguments: [.bulk(self.responseChannel(from)), .bulk(JSONValue.object(response).jsonString)])
        }
    }

    private func handleResponse(_ message: RedisPubSubMessage) {
        guard let response = try? JSONValue.parse(message.payload), let rid = response["r"]?.stringValue,
              let ids = response["s"]?.arrayValue else { return }
        let done = self.pending.withLockedValue { pending -> PendingRequest? in
            guard var entry = pending[rid] else { return nil }
            entry.ids += ids.compactMap(\.stringValue)
            entry.received += 1
            if entry.received >= entry.expected {
                pending.removeValue(forKey: rid)
                return entry
            }
            pending[rid] = entry
            return nil
        }
        if let done {
            done.timer?.cancel()
            done.promise.succeed(done.ids)
        }
    }

    static func randomID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<16).map { _ in alphabet.randomElement()! })
    }
}

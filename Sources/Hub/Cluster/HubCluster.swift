import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import RedisClient
import SocketIO
import SocketIORedis

/// A hub node's link to the other nodes through Redis (with `redisURL`): the hub's side of the
/// scale-out, beside the Socket.IO adapter (which carries the Socket.IO broadcasts).
///
/// - /stream: every event the node routes is published on the `hub:events` channel
///   (``ClusterEventMessage``); the other nodes hand it to their /stream subscribers.
/// - Status: every `clusterStatusInterval` the node writes its ``NodeReport`` to
///   `hub:node:<uid>` with an expiry of three intervals and adds its uid to the set `hub:nodes`;
///   ``nodes()`` reads the set and the reports, and drops the uids whose report expired.
/// - History: ``history`` keeps room history in Redis Streams (``RedisEventHistory``).
/// - Outages: the command connection's state is tracked (``RedisOutageTracker``); an outage is
///   logged once when it begins and once when it ends, and counted in /metrics. While Redis is away
///   the node keeps serving its own clients; cross-node delivery resumes when it is back (events
///   published meanwhile are not replayed to /stream subscribers of other nodes).
public final class HubCluster: Sendable {
    /// The cluster settings.
    public struct Configuration: Sendable {
        /// The shared Redis.
        public var url: RedisURL
        /// Time between two status reports. Default 5 s.
        public var statusInterval: TimeAmount = .seconds(5)
        /// Events kept per room in the Redis history. Default 1000.
        public var historySize = 1000
        /// The prefix of every key and channel. Default `hub`.
        public var keyPrefix = "hub"

        /// Settings for `url` with the defaults.
        public init(url: RedisURL) {
            self.url = url
        }
    }

    /// This node's id: random, new at each start.
    public let uid: String
    /// The settings.
    public let configuration: Configuration
    /// Room history in Redis Streams.
    public let history: RedisEventHistory
    /// The Socket.IO adapter's node (its own Redis connections).
    let adapterNode: RedisAdapterNode
    let connection: RedisConnection
    private let subscriber: RedisSubscriber
    private let eventLoop: EventLoop
    private let logger: Logger
    private let outages = NIOLockedValueBox(RedisOutageTracker())
    private let statusTask = NIOLockedValueBox<RepeatedTask?>(nil)

    /// Creates the connections (not yet started).
    public init(configuration: Configuration, group: EventLoopGroup, logger: Logger) {
        self.uid = UUID().uuidString.lowercased()
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = group.next()
        var redis = RedisConnection.Configuration(url: configuration.url)
        redis.reconnect = RedisBackoff(initialDelay: .milliseconds(100), maxDelay: .seconds(2))
        self.connection = RedisConnection(configuration: redis, eventLoop: self.eventLoop, logger: logger)
        self.subscriber = RedisSubscriber(configuration: redis, eventLoop: self.eventLoop, logger: logger)
        self.adapterNode = RedisAdapterNode(configuration: RedisAdapterNode.Configuration(redis: redis), group: group, logger: logger)
        self.history = RedisEventHistory(connection: self.connection, capacityPerRoom: configuration.historySize,
                                         keyPrefix: configuration.keyPrefix)
    }

    /// The channel carrying ``ClusterEventMessage``s.
    var eventsChannel: String { "\(self.configuration.keyPrefix):events" }
    /// The set of node uids.
    var nodesKey: String { "\(self.configuration.keyPrefix):nodes" }
    /// The key of one node's report.
    func nodeKey(_ uid: String) -> String { "\(self.configuration.keyPrefix):node:\(uid)" }

    /// Whether the command connection to Redis is up.
    public var isConnected: Bool { self.outages.withLockedValue { $0.isConnected } }
    /// Redis outages since start (a drop and the failed attempts after it count once).
    public var outageCount: Int { self.outages.withLockedValue { $0.outages } }

    /// Connects, and hands each event routed by another node to `onRemoteEvent` (on the
    /// subscriber's loop, in the order that node published them).
    public func start(onRemoteEvent: @escaping @Sendable (HubEvent) -> Void) {
        let uid = self.uid
        let logger = self.logger
        let url = self.configuration.url
        self.connection.onStateChange { [outages] event in
            switch event {
            case .connected:
                if case .outageEnded(let since) = outages.withLockedValue({ $0.connected() }) {
                    let seconds = Double((NIODeadline.now() - since).nanoseconds) / 1e9
                    logger.notice("redis reachable again; cross-node delivery resumed",
                                  metadata: ["redis": "\(url.host):\(url.port)", "outage_s": "\(String(format: "%.1f", seconds))"])
                }
            case .disconnected(let error):
                if outages.withLockedValue({ $0.disconnected(at: .now()) }) == .outageBegan {
                    logger.warning("redis unreachable; serving local clients only until it is back",
                                   metadata: ["redis": "\(url.host):\(url.port)", "error": "\(error)"])
                }
            }
        }
        self.connection.start()
        self.subscriber.start()
        self.adapterNode.start()
        let subscribed = self.subscriber.subscribe([self.eventsChannel]) { message in
            guard let decoded = ClusterEventMessage(message.payload) else {
                logger.debug("ignored a message on the events channel", metadata: ["channel": "\(message.channel)"])
                return
            }
            if decoded.node != uid {
                onRemoteEvent(decoded.event)
            }
        }
        subscribed.whenFailure { error in
            logger.debug("events channel subscription failed", metadata: ["error": "\(error)"])
        }
    }

    /// Publishes `event` (routed here) to the other nodes' /stream subscribers. Fails silently
    /// while Redis is away (counted as an outage).
    public func relay(_ event: HubEvent) {
        let text = ClusterEventMessage(node: self.uid, event: event).text
        self.connection.send(command: "PUBLISH", arguments: [.bulk(self.eventsChannel), .bulk(text)]).whenFailure { [logger] error in
            logger.trace("event not relayed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Status

    /// Writes `report()` to Redis now and then every `statusInterval`.
    func startStatusReports(_ report: @escaping @Sendable () async -> NodeReport) {
        let interval = self.configuration.statusInterval
        let loop = self.eventLoop
        let task = loop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: interval) { [self] _ in
            let promise = loop.makePromise(of: Void.self)
            promise.completeWithTask {
                let node = await report()
                // Errors (Redis away) are not fatal: the next report tries again.
                try? await self.publish(node)
            }
            return promise.futureResult
        }
        self.statusTask.withLockedValue { $0 = task }
    }

    /// Writes one report: `SET hub:node:<uid> <json> PX 3×interval` and `SADD hub:nodes <uid>`.
    func publish(_ node: NodeReport) async throws {
        let expiry = max(1, self.configuration.statusInterval.nanoseconds / 1_000_000 * 3)
        async let set = self.connection.send(
            command: "SET", arguments: [.bulk(self.nodeKey(node.id)), .bulk(node.json.jsonString), "PX", .bulk(String(expiry))]).get()
        async let add = self.connection.send(command: "SADD", arguments: [.bulk(self.nodesKey), .bulk(node.id)]).get()
        _ = try await (set, add)
    }

    /// The reports of every live node (those whose report has not expired); uids whose report
    /// expired are removed from the set.
    func nodes() async throws -> [NodeReport] {
        let members = try await self.connection.send(command: "SMEMBERS", arguments: [.bulk(self.nodesKey)]).get()
        let uids = (members.array ?? []).compactMap(\.string).sorted()
        guard !uids.isEmpty else { return [] }
        let values = try await self.connection.send(command: "MGET", arguments: uids.map { .bulk(self.nodeKey($0)) }).get()
        var reports: [NodeReport] = []
        var expired: [String] = []
        for (uid, value) in zip(uids, values.array ?? []) {
            guard let buffer = value.buffer, let json = try? JSONValue.parse(buffer), let report = NodeReport(json: json) else {
                expired.append(uid)
                continue
            }
            reports.append(report)
        }
        if !expired.isEmpty {
            _ = self.connection.send(command: "SREM", arguments: [.bulk(self.nodesKey)] + expired.map { .bulk($0) })
        }
        return reports
    }

    /// Stops reporting, removes this node's report, and closes the connections.
    public func shutdown() async {
        let task = self.statusTask.withLockedValue { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        _ = try? await self.connection.send(command: "DEL", arguments: [.bulk(self.nodeKey(self.uid))]).get()
        _ = try? await self.connection.send(command: "SREM", arguments: [.bulk(self.nodesKey), .bulk(self.uid)]).get()
        try? await self.connection.close()
        try? await self.subscriber.close().get()
        await self.adapterNode.shutdown()
    }
}

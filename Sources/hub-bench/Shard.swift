import NIOCore
import NIOPosix

/// What every client of a worker process shares: parameters, the server's address and the bytes
/// that are the same for every message (built once).
struct WorkerConfig: Sendable {
    static let room = "bench"

    let parameters: ScenarioParameters
    let server: ServerURL
    let serverAddress: SocketAddress
    let bindAddresses: [SocketAddress]
    /// The WebSocket upgrade request.
    let upgradeRequest: ByteBuffer
    /// fanout: where the publisher connects, and its upgrade request (the server's unless
    /// `publisherURL` is set).
    let publisherAddress: SocketAddress
    let publisherUpgradeRequest: ByteBuffer
    /// WebSocket clients: the servers they are spread over (client i on i mod count), with their
    /// upgrade requests; the run's server first.
    let clientTargets: [(address: SocketAddress, upgrade: ByteBuffer)]
    /// `["bench:echo",{"pad":"…"}]`: an echo is "42" + ack id + this.
    let echoTail: ByteBuffer
    /// `","pad":"…"}]`: a publish ends with this.
    let publishTail: ByteBuffer
    let hostHeader: String
    let pollingPath: String
    let sampleMask: UInt64
    let sampleEvery: UInt64

    /// The WebSocket upgrade request for `server`.
    static func upgrade(_ server: ServerURL) -> ByteBuffer {
        let hostHeader = server.host.contains(":") ? "[\(server.host)]:\(server.port)" : "\(server.host):\(server.port)"
        var upgrade = ByteBufferAllocator().buffer(capacity: 256)
        upgrade.writeString("GET \(server.path)?EIO=4&transport=websocket HTTP/1.1\r\n")
        upgrade.writeString("Host: \(hostHeader)\r\n")
        upgrade.writeString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
        upgrade.writeString("Sec-WebSocket-Key: aHViLWJlbmNoLWtleS0wMQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        return upgrade
    }

    init(parameters: ScenarioParameters, server: ServerURL) throws {
        self.parameters = parameters
        self.server = server
        self.serverAddress = try SocketAddress.makeAddressResolvingHost(server.host, port: server.port)
        self.bindAddresses = try parameters.sourceAddresses.map { try SocketAddress(ipAddress: $0, port: 0) }
        let hostHeader = server.host.contains(":") ? "[\(server.host)]:\(server.port)" : "\(server.host):\(server.port)"
        self.hostHeader = hostHeader
        self.pollingPath = server.path + "?EIO=4&transport=polling"

        self.upgradeRequest = Self.upgrade(server)
        if let text = parameters.publisherURL {
            let publisher = try ServerURL(parsing: text)
            self.publisherAddress = try SocketAddress.makeAddressResolvingHost(publisher.host, port: publisher.port)
            self.publisherUpgradeRequest = Self.upgrade(publisher)
        } else {
            self.publisherAddress = serverAddress
            self.publisherUpgradeRequest = upgradeRequest
        }
        var targets = [(address: serverAddress, upgrade: upgradeRequest)]
        for text in parameters.alsoUrls {
            let other = try ServerURL(parsing: text)
            targets.append((try SocketAddress.makeAddressResolvingHost(other.host, port: other.port), Self.upgrade(other)))
        }
        self.clientTargets = targets

        // The echoed object {"pad":"…"} is `size` bytes.
        var echo = ByteBufferAllocator().buffer(capacity: parameters.size + 32)
        echo.writeString("[\"bench:echo\",{\"pad\":\"")
        echo.writeRepeating(UInt8(ascii: "x"), count: max(0, parameters.size - 10))
        echo.writeString("\"}]")
        self.echoTail = echo

        // The msg object {"seq":n,"t":ms.micros,"pad":"…"} is about `size` bytes (45 without pad).
        var publish = ByteBufferAllocator().buffer(capacity: parameters.size + 32)
        publish.writeString(",\"pad\":\"")
        publish.writeRepeating(UInt8(ascii: "x"), count: max(0, parameters.size - 45))
        publish.writeString("\"}]")
        self.publishTail = publish

        var every = UInt64(max(1, parameters.sampleEvery))
        if every & (every - 1) != 0 {  // round up to a power of two: the check is a mask
            every = 1 << UInt64(64 - (every - 1).leadingZeroBitCount)
        }
        self.sampleEvery = every
        self.sampleMask = every - 1
    }
}

/// Anything that sends echoes (WebSocket or polling client).
protocol EchoSender: AnyObject {
    func sendEcho()
    var outstanding: Int { get }
}

/// The clients of one event loop and their counters. Everything here is touched on `loop` only,
/// so the hot paths need no locks or atomics; results are read with `loop.submit`.
final class Shard: @unchecked Sendable {
    let loop: EventLoop
    let index: Int
    let config: WorkerConfig

    var wsClients: [WSClient] = []
    var pollClients: [PollingClient] = []
    var echoSenders: [EchoSender] = []

    /// Scratch space for building a message before it is framed (reused, never sent itself).
    var scratch = ByteBufferAllocator().buffer(capacity: 4096)

    // counters
    var measuring = false
    var sending = false
    var connects = 0
    var errors = 0
    var pings = 0
    var sent = 0
    var acks = 0
    var lateAcks = 0
    var skipped = 0
    var deliveries = 0
    var outOfOrder = 0
    var gaps = 0
    var lastDeliveryNanos: UInt64 = 0
    var lastDeliveryDirty = false
    var connectHistogram = LatencyHistogram()
    var rttHistogram = LatencyHistogram()
    var fanoutHistogram = LatencyHistogram()
    var shuttingDown = false

    // open-loop echo pacing
    private var ticker: RepeatedTask?
    private var tickStart: UInt64 = 0
    private var tickSent = 0
    private var cursor = 0

    /// The publisher, on the shard of global client 0.
    var publisher: Publisher?

    init(loop: EventLoop, index: Int, config: WorkerConfig) {
        self.loop = loop
        self.index = index
        self.config = config
    }

    var clientCount: Int { wsClients.count + pollClients.count }

    // MARK: connecting

    func bootstrap(bindIndex: Int) -> ClientBootstrap {
        var bootstrap = ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .connectTimeout(.seconds(30))
        if !config.bindAddresses.isEmpty {
            bootstrap = bootstrap.bind(to: config.bindAddresses[bindIndex % config.bindAddresses.count])
        }
        return bootstrap
    }

    /// Connects one WebSocket client; the future completes when the client is ready (Socket.IO
    /// connected, and in fanout joined to the room).
    func connectWebSocket(globalIndex: Int, isPublisher: Bool) -> EventLoopFuture<Void> {
        let ready = loop.makePromise(of: Void.self)
        let start = monotonicNanos()
        let shard = self
        let connect = bootstrap(bindIndex: globalIndex)
            .channelInitializer { channel in
                let client = WSClient(shard: shard, globalIndex: globalIndex, isPublisher: isPublisher,
                                      ready: ready, startNanos: start)
                do {
                    try channel.pipeline.syncOperations.addHandler(client)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(to: isPublisher ? config.publisherAddress
                     : config.clientTargets[globalIndex % config.clientTargets.count].address)
        connect.whenFailure { error in ready.fail(error) }
        return ready.futureResult
    }

    /// Connects one polling client (two HTTP connections: the long-poll GET and the POSTs).
    func connectPolling(globalIndex: Int) -> EventLoopFuture<Void> {
        let ready = loop.makePromise(of: Void.self)
        let client = PollingClientBox(shard: self, globalIndex: globalIndex, ready: ready)
        loop.execute { client.start() }
        return ready.futureResult
    }

    // MARK: echo pacing

    /// Starts echoing: `perClient` per second per client, spread evenly (round-robin over the
    /// clients from a 1 ms tick), or closed loop when `perClient` is 0.
    func startEcho(perClient: Double) {
        measuring = true
        sending = true
        guard !echoSenders.isEmpty else { return }
        if perClient <= 0 {
            for client in echoSenders { client.sendEcho() }
            return
        }
        let total = perClient * Double(echoSenders.count)
        tickStart = monotonicNanos()
        tickSent = 0
        cursor = Int.random(in: 0..<echoSenders.count)
        // A tick per send, but no more often than every 1 ms and at least every 10 ms (each tick
        // wakes the loop; the send time recorded is the real one either way).
        let interval = Int64(min(10_000_000, max(1_000_000, 1e9 / total)))
        ticker = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .nanoseconds(interval)) { [self] _ in
            self.tick(total: total)
        }
    }

    private func tick(total: Double) {
        guard sending else { return }
        let due = Int(Double(monotonicNanos() &- tickStart) / 1e9 * total)
        var n = due - tickSent
        // After a stall, do not fire a whole backlog at once: at most one round over the clients.
        if n > echoSenders.count {
            tickSent += n - echoSenders.count
            n = echoSenders.count
        }
        while n > 0 {
            echoSenders[cursor].sendEcho()
            cursor += 1
            if cursor == echoSenders.count { cursor = 0 }
            n -= 1
            tickSent += 1
        }
    }

    func stopEcho() {
        sending = false
        measuring = false
        ticker?.cancel()
        ticker = nil
    }

    var outstanding: Int { echoSenders.reduce(0) { $0 + $1.outstanding } }

    // MARK: fan-out

    /// Messages the clients of this shard have received on average (for the publisher's pacing;
    /// O(1), unlike a minimum over the clients).
    var averageReceived: Int {
        wsClients.isEmpty ? Int.max : deliveries / wsClients.count
    }

    /// Sum over clients of the messages each is missing out of `published` (after the drain).
    func missing(published: Int) -> Int {
        wsClients.reduce(0) { $0 + max(0, published - $1.received) }
    }

    func closeAll() -> EventLoopFuture<Void> {
        shuttingDown = true
        stopEcho()
        publisher?.stop()
        var futures: [EventLoopFuture<Void>] = []
        for client in wsClients {
            if let channel = client.channel {
                futures.append(channel.close().recover { _ in })
            }
        }
        for client in pollClients {
            futures.append(contentsOf: client.close())
        }
        return EventLoopFuture.andAllComplete(futures, on: loop)
    }
}

/// Sendable carrier for creating a polling client on its loop.
private struct PollingClientBox: @unchecked Sendable {
    let shard: Shard
    let globalIndex: Int
    let ready: EventLoopPromise<Void>

    func start() {
        let client = PollingClient(shard: shard, globalIndex: globalIndex, ready: ready)
        client.start()
    }
}

import Foundation
import NIOCore
import NIOPosix

/// What one worker is asked to do: a slice of the clients.
struct WorkerSpec: Codable, Sendable {
    var parameters: ScenarioParameters
    var server: ServerURL
    var workerIndex: Int
    /// Global index of this worker's first client (global client 0 is the fan-out publisher).
    var firstClient: Int
    var clientCount: Int
    var threads: Int
}

struct ReadyInfo: Codable, Sendable {
    var connected: Int
    var failed: Int
}

/// A worker's counters, merged by the coordinator.
struct WorkerResult: Codable, Sendable {
    var clients = 0
    var connects = 0
    var connectFailures = 0
    var errors = 0
    var pings = 0
    var sent = 0
    var acks = 0
    var lateAcks = 0
    var skipped = 0
    var unanswered = 0
    var published = 0
    var deliveries = 0
    var outOfOrder = 0
    var gaps = 0
    var missing = 0
    var cpuSeconds = 0.0
    /// connect: first connect start → last client ready; fanout: publishing start → last delivery.
    var spanStartNanos: UInt64?
    var spanEndNanos: UInt64?
    var connectHistogram: [[UInt64]] = []
    var rttHistogram: [[UInt64]] = []
    var fanoutHistogram: [[UInt64]] = []

    mutating func merge(_ o: WorkerResult) {
        clients += o.clients
        connects += o.connects
        connectFailures += o.connectFailures
        errors += o.errors
        pings += o.pings
        sent += o.sent
        acks += o.acks
        lateAcks += o.lateAcks
        skipped += o.skipped
        unanswered += o.unanswered
        published += o.published
        deliveries += o.deliveries
        outOfOrder += o.outOfOrder
        gaps += o.gaps
        missing += o.missing
        cpuSeconds += o.cpuSeconds
        if let s = o.spanStartNanos { spanStartNanos = min(spanStartNanos ?? s, s) }
        if let e = o.spanEndNanos { spanEndNanos = max(spanEndNanos ?? e, e) }
    }
}

/// The clients of one process: one event loop per CPU it may use, clients spread over them.
/// The coordinator drives it through `WorkerHandle` (in process, or over a pipe from a child).
final class LoadWorker: @unchecked Sendable {
    let spec: WorkerSpec
    let config: WorkerConfig
    let group: MultiThreadedEventLoopGroup
    let shards: [Shard]
    private var cpuAtGo = 0.0
    private var connectTask: Task<Void, Never>?
    private var connectStart: UInt64 = 0
    private var connectEnd: UInt64 = 0
    private var connected = 0
    private var connectFailed = 0

    init(spec: WorkerSpec) throws {
        self.spec = spec
        self.config = try WorkerConfig(parameters: spec.parameters, server: spec.server)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, spec.threads))
        var shards: [Shard] = []
        for (i, loop) in group.makeIterator().enumerated() {
            shards.append(Shard(loop: loop, index: i, config: config))
        }
        self.shards = shards
    }

    private var scenario: Scenario { spec.parameters.scenario }

    /// Connects the clients (all scenarios but connect, which connects after `go`).
    func prepare() async throws -> ReadyInfo {
        if scenario == .connect { return ReadyInfo(connected: 0, failed: 0) }
        try await connectAll()
        if scenario == .fanout && spec.firstClient == 0 {
            try await installPublisher()
        }
        return ReadyInfo(connected: connected, failed: connectFailed)
    }

    /// Starts the measured phase.
    func go() async throws {
        cpuAtGo = ProcStats.selfCPUSeconds()
        switch scenario {
        case .connect:
            connectTask = Task { try? await self.connectAll() }
        case .idle:
            break
        case .echo, .polling:
            let rate = spec.parameters.rate
            for shard in shards {
                try await shard.loop.submit { shard.startEcho(perClient: rate) }.get()
            }
        case .fanout:
            let shards = self.shards
            for shard in shards {
                try await shard.loop.submit {
                    shard.measuring = true
                    shard.publisher?.start(peers: shards)
                }.get()
            }
        }
    }

    /// Ends the load (connect: waits until every client has connected or failed). Returns the
    /// number of messages published (fanout).
    func stop() async throws -> Int {
        switch scenario {
        case .connect:
            await connectTask?.value
            return 0
        case .idle:
            return 0
        case .echo, .polling:
            for shard in shards {
                try await shard.loop.submit { shard.stopEcho() }.get()
            }
            return 0
        case .fanout:
            var published = 0
            for shard in shards {
                published += try await shard.loop.submit { shard.publisher?.stop() ?? 0 }.get()
            }
            return published
        }
    }

    /// Waits for what is still on its way (acks, fan-out deliveries of `published` messages), then
    /// reports.
    func finish(published: Int) async throws -> WorkerResult {
        let timeout = spec.parameters.drainTimeout
        switch scenario {
        case .echo, .polling:
            try await drain(timeout: timeout, progress: { try await self.sum { $0.acks + $0.lateAcks } }) {
                try await self.sum { $0.outstanding } == 0
            }
        case .fanout:
            try await drain(timeout: timeout, progress: { try await self.sum { $0.deliveries } }) {
                try await self.sum { $0.missing(published: published) } == 0
            }
        default:
            break
        }
        var result = WorkerResult()
        result.cpuSeconds = ProcStats.selfCPUSeconds() - cpuAtGo
        var connectH = LatencyHistogram(), rttH = LatencyHistogram(), fanoutH = LatencyHistogram()
        for shard in shards {
            let part = try await shard.loop.submit { () -> WorkerResult in
                var r = WorkerResult()
                r.clients = shard.clientCount
                r.connects = shard.connects
                r.errors = shard.errors
                r.pings = shard.pings
                r.sent = shard.sent
                r.acks = shard.acks
                r.lateAcks = shard.lateAcks
                r.skipped = shard.skipped
                r.unanswered = shard.outstanding
                r.deliveries = shard.deliveries
                r.outOfOrder = shard.outOfOrder
                r.gaps = shard.gaps
                r.missing = shard.missing(published: published)
                if let publisher = shard.publisher {
                    r.published = publisher.published
                    r.spanStartNanos = publisher.startNanos
                }
                if shard.lastDeliveryNanos > 0 { r.spanEndNanos = shard.lastDeliveryNanos }
                r.connectHistogram = shard.connectHistogram.compact
                r.rttHistogram = shard.rttHistogram.compact
                r.fanoutHistogram = shard.fanoutHistogram.compact
                return r
            }.get()
            let cpu = result.cpuSeconds
            result.merge(part)
            result.cpuSeconds = cpu
            connectH.merge(LatencyHistogram(compact: part.connectHistogram))
            rttH.merge(LatencyHistogram(compact: part.rttHistogram))
            fanoutH.merge(LatencyHistogram(compact: part.fanoutHistogram))
        }
        result.connectHistogram = connectH.compact
        result.rttHistogram = rttH.compact
        result.fanoutHistogram = fanoutH.compact
        result.connectFailures = connectFailed
        if scenario == .connect {
            result.spanStartNanos = connectStart
            result.spanEndNanos = connectEnd
        } else if scenario != .fanout {
            result.spanStartNanos = nil
            result.spanEndNanos = nil
        }
        return result
    }

    func shutdown() async {
        for shard in shards {
            _ = try? await shard.loop.flatSubmit { shard.closeAll() }.get()
        }
        try? await group.shutdownGracefully()
    }

    // MARK: helpers

    private func sum(_ read: @escaping @Sendable (Shard) -> Int) async throws -> Int {
        var total = 0
        for shard in shards {
            total += try await shard.loop.submit { read(shard) }.get()
        }
        return total
    }

    /// Polls `done` every 10 ms until it holds, or until `progress` has not moved for `timeout` s.
    private func drain(timeout: Double, progress: @escaping () async throws -> Int,
                       done: @escaping () async throws -> Bool) async throws {
        var last = try await progress()
        var lastMoved = monotonicNanos()
        while try await !done() {
            try await Task.sleep(nanoseconds: 10_000_000)
            let now = try await progress()
            if now != last {
                last = now
                lastMoved = monotonicNanos()
            } else if Double(monotonicNanos() - lastMoved) / 1e9 > timeout {
                return
            }
        }
    }

    /// Connects this worker's clients, at most `concurrency` handshakes at once.
    private func connectAll() async throws {
        let count = spec.clientCount
        let concurrency = max(1, spec.parameters.concurrency)
        let shards = self.shards
        let first = spec.firstClient
        let polling = scenario == .polling
        connectStart = monotonicNanos()
        var ok = 0
        var failed = 0
        var firstError: String?
        await withTaskGroup(of: String?.self) { group in
            var next = 0
            func add() {
                let i = next
                next += 1
                let shard = shards[i % shards.count]
                let global = first + i
                group.addTask {
                    let future = polling
                        ? shard.connectPolling(globalIndex: global)
                        : shard.connectWebSocket(globalIndex: global, isPublisher: global == 0)
                    do {
                        try await future.get()
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
            }
            while next < count && next < concurrency { add() }
            while let error = await group.next() {
                if let error {
                    failed += 1
                    if firstError == nil { firstError = error }
                } else {
                    ok += 1
                }
                if next < count { add() }
            }
        }
        connectEnd = monotonicNanos()
        connected = ok
        connectFailed = failed
        if let firstError { logErr("worker \(spec.workerIndex): \(failed) of \(count) connections failed; first: \(firstError)") }
    }

    private func installPublisher() async throws {
        for shard in shards {
            try await shard.loop.submit {
                if let client = shard.wsClients.first(where: { $0.globalIndex == 0 && $0.state == .ready }) {
                    shard.publisher = Publisher(shard: shard, client: client, rate: shard.config.parameters.rate,
                                                window: shard.config.parameters.window)
                }
            }.get()
        }
    }
}

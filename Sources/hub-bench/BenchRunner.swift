import Foundation

/// Runs one scenario against one server and returns its figures. This is the entry point for
/// `run` and for `compare` (which calls it once per server with the same parameters).
enum BenchRunner {
    /// - Parameters:
    ///   - url: the server, `http://host:port[/path/]`.
    ///   - serverPID: the server's process, for its CPU time and RSS (nil: those figures are left out).
    ///   - parameters: scenario, clients, rate, …
    ///   - log: progress lines (to standard error in `run`).
    static func run(url: String, serverPID: Int32?, parameters: ScenarioParameters,
                    log: @Sendable (String) -> Void = { logErr($0) }) async throws -> BenchResult {
        try await run(url: url, serverPIDs: serverPID.map { [$0] } ?? [], parameters: parameters, log: log)
    }

    /// The same with several server processes (e.g. the nodes of a cluster): their CPU time and RSS
    /// are summed, and reported per process in `servers`.
    static func run(url: String, serverPIDs: [Int32], parameters: ScenarioParameters,
                    log: @Sendable (String) -> Void = { logErr($0) }) async throws -> BenchResult {
        let server = try ServerURL(parsing: url)
        if let publisher = parameters.publisherURL {
            guard parameters.scenario == .fanout else { throw BenchError.usage("--publisher-url is for the fanout scenario") }
            _ = try ServerURL(parsing: publisher)
        }
        if !parameters.alsoUrls.isEmpty {
            guard parameters.scenario != .polling else { throw BenchError.usage("several --url are for the WebSocket scenarios") }
            for other in parameters.alsoUrls { _ = try ServerURL(parsing: other) }
        }
        var p = parameters
        guard p.clients >= 1 else { throw BenchError.usage("--clients must be at least 1") }
        p.processes = max(1, min(p.processes, p.clients))

        // Files: one socket per WebSocket client, two per polling client, per process.
        let fileLimit = ProcStats.raiseFileLimit()
        let socketsPerClient = p.scenario == .polling ? 2 : 1
        let perProcess = (p.clients + p.processes - 1) / p.processes * socketsPerClient
        if perProcess > fileLimit - 64 {
            let needed = (p.clients * socketsPerClient + fileLimit - 65) / (fileLimit - 64)
            throw BenchError.usage("\(perProcess) sockets per process exceed the open-file limit (\(fileLimit)); use --processes \(needed) or more")
        }

        // Pinning (before any event loop thread exists, so they inherit the mask). Both masks are
        // given back at the end, so a server stays as it was for the next run.
        var savedMasks: [(Int32, [UInt64])] = []
        defer { Affinity.restore(savedMasks) }
        if let cpu = p.pinClient {
            savedMasks += Affinity.save(pid: getpid())
            let n = try Affinity.pin(pid: getpid(), cpus: [cpu])
            log("client pinned to CPU \(cpu) (\(n) threads)")
        }
        if let cpu = p.pinServer {
            guard !serverPIDs.isEmpty else { throw BenchError.usage("--pin-server needs --server-pid") }
            for pid in serverPIDs {
                savedMasks += Affinity.save(pid: pid)
                let n = try Affinity.pin(pid: pid, cpus: [cpu])
                log("server pinned to CPU \(cpu) (\(n) threads; the same as: taskset -a -p -c \(cpu) \(pid))")
            }
        }
        let threads = p.resolvedThreads

        // Workers: the clients split in contiguous slices; global client 0 (the fan-out publisher)
        // is in worker 0.
        var handles: [WorkerHandle] = []
        do {
            for w in 0..<p.processes {
                let first = p.clients * w / p.processes
                let next = p.clients * (w + 1) / p.processes
                let spec = WorkerSpec(parameters: p, server: server, workerIndex: w, firstClient: first,
                                      clientCount: next - first, threads: threads)
                if p.processes == 1 {
                    handles.append(LocalWorkerHandle(worker: try LoadWorker(spec: spec)))
                } else {
                    handles.append(try RemoteWorkerHandle(spec: spec))
                }
            }
        } catch {
            for handle in handles { await handle.shutdown() }
            throw error
        }
        let all = handles

        do {
            let result = try await measure(server: server, serverPIDs: serverPIDs, parameters: p, threads: threads,
                                           handles: all, log: log)
            for handle in all { await handle.shutdown() }
            return result
        } catch {
            for handle in all { await handle.shutdown() }
            throw error
        }
    }

    private static func measure(server: ServerURL, serverPIDs: [Int32], parameters p: ScenarioParameters, threads: Int,
                                handles: [WorkerHandle], log: @Sendable (String) -> Void) async throws -> BenchResult {
        // Summed over every server process; nil when there is none or one cannot be read.
        func sum<T: AdditiveArithmetic>(_ values: [T?]) -> T? {
            if values.isEmpty || values.contains(where: { $0 == nil }) { return nil }
            return values.reduce(T.zero) { $0 + $1! }
        }
        let rssBeforeEach = serverPIDs.map { ProcStats.rssKB(pid: $0) }
        let rssBefore = sum(rssBeforeEach)

        // Setup: connect (and join) every client.
        let setupStart = monotonicNanos()
        let ready = try await forEach(handles) { try await $0.ready() }
        let connected = ready.reduce(0) { $0 + $1.connected }
        let failed = ready.reduce(0) { $0 + $1.failed }
        if p.scenario != .connect {
            log(String(format: "%d clients connected in %.2f s (%d failed)", connected,
                       Double(monotonicNanos() - setupStart) / 1e9, failed))
            if connected == 0 { throw BenchError.protocolError("no client could connect to \(server.description)") }
        }
        var rssAfterEach: [Int?] = []
        if p.scenario == .idle {
            try await Task.sleep(nanoseconds: UInt64(p.settle * 1e9))
            rssAfterEach = serverPIDs.map { ProcStats.rssKB(pid: $0) }
        } else if p.scenario != .connect {
            try await Task.sleep(nanoseconds: 300_000_000)  // let the server finish the setup work
        }

        // Measured phase.
        let serverCPU0Each = serverPIDs.map { ProcStats.cpuSeconds(pid: $0) }
        let t0 = monotonicNanos()
        _ = try await forEach(handles) { try await $0.go() }
        if p.scenario != .connect {
            log("\(p.scenario.rawValue): running for \(p.duration) s")
            try await Task.sleep(nanoseconds: UInt64(p.duration * 1e9))
        }
        let published = try await forEach(handles) { try await $0.stop() }.reduce(0, +)
        let results = try await forEach(handles) { try await $0.finish(published: published) }
        let t1 = monotonicNanos()
        let serverCPU1Each = serverPIDs.map { ProcStats.cpuSeconds(pid: $0) }
        if p.scenario != .idle { rssAfterEach = serverPIDs.map { ProcStats.rssKB(pid: $0) } }
        let rssAfter = p.scenario == .idle ? sum(rssAfterEach) : nil

        var merged = WorkerResult()
        var connectH = LatencyHistogram(), rttH = LatencyHistogram(), fanoutH = LatencyHistogram()
        for r in results {
            merged.merge(r)
            connectH.merge(LatencyHistogram(compact: r.connectHistogram))
            rttH.merge(LatencyHistogram(compact: r.rttHistogram))
            fanoutH.merge(LatencyHistogram(compact: r.fanoutHistogram))
        }

        let wall = Double(t1 - t0) / 1e9
        let serverCPUEach: [Double?] = zip(serverCPU0Each, serverCPU1Each).map { a, b in
            (a != nil && b != nil) ? max(0, b! - a!) : nil
        }
        let serverCPU = sum(serverCPUEach)
        let clientCPU = merged.cpuSeconds
        let cpus = ProcStats.onlineCPUs

        var f = Figures()
        f.wallS = round3(wall)
        f.serverCores = serverCPU.map { round3($0 / wall) }
        f.clientCores = round3(clientCPU / wall)
        f.errors = merged.errors

        switch p.scenario {
        case .connect:
            f.connects = merged.connects
            f.connectFailures = merged.connectFailures
            let span = spanSeconds(merged) ?? wall
            f.connectsPerS = round1(Double(merged.connects) / span)
            f.connectP50Ms = connectH.ms(atPercentile: 50).map(round3)
            f.connectP99Ms = connectH.ms(atPercentile: 99).map(round3)
            f.connectMaxMs = connectH.maxMs.map(round3)
        case .idle:
            f.connections = merged.connects
            f.connectFailures = failed
            f.serverRssBeforeKb = rssBefore
            f.serverRssAfterKb = rssAfter
            if let before = rssBefore, let after = rssAfter, merged.connects > 0 {
                f.serverRssPerConnectionKb = round3(Double(after - before) / Double(merged.connects))
            }
            f.serverIdleCpuPct = serverCPU.map { round3($0 / wall * 100) }
            f.pingsAnswered = merged.pings
        case .echo, .polling:
            f.connections = merged.connects
            f.connectFailures = failed
            f.sent = merged.sent
            f.skipped = merged.skipped
            f.unanswered = merged.unanswered
            let measured = min(wall, p.duration)
            if p.scenario == .echo {
                f.acks = merged.acks
                f.acksPerS = round1(Double(merged.acks) / measured)
            } else {
                f.roundTrips = merged.acks
                f.roundTripsPerS = round1(Double(merged.acks) / measured)
            }
            f.rttP50Ms = rttH.ms(atPercentile: 50).map(round3)
            f.rttP90Ms = rttH.ms(atPercentile: 90).map(round3)
            f.rttP99Ms = rttH.ms(atPercentile: 99).map(round3)
            f.rttMaxMs = rttH.maxMs.map(round3)
            let answered = merged.acks + merged.lateAcks
            if answered > 0 {
                f.serverCpuUsPerRoundTrip = serverCPU.map { round3($0 / Double(answered) * 1e6) }
                f.clientCpuUsPerRoundTrip = round3(clientCPU / Double(answered) * 1e6)
            }
        case .fanout:
            f.subscribers = merged.connects
            f.connectFailures = failed
            f.published = published
            f.deliveries = merged.deliveries
            f.expectedDeliveries = published * merged.connects
            f.lost = merged.missing
            f.outOfOrder = merged.outOfOrder
            let span = spanSeconds(merged) ?? wall
            f.deliveriesPerS = round1(Double(merged.deliveries) / span)
            f.latencySamples = Int(fanoutH.count)
            f.latencyP50Ms = fanoutH.ms(atPercentile: 50).map(round3)
            f.latencyP99Ms = fanoutH.ms(atPercentile: 99).map(round3)
            f.latencyMaxMs = fanoutH.maxMs.map(round3)
            if merged.deliveries > 0 {
                f.serverCpuUsPerDelivery = serverCPU.map { round3($0 / Double(merged.deliveries) * 1e6) }
                f.clientCpuUsPerDelivery = round3(clientCPU / Double(merged.deliveries) * 1e6)
            }
        }

        let parameters = BenchResult.Parameters(
            url: server.description, serverPid: serverPIDs.first,
            serverPids: serverPIDs.count > 1 ? serverPIDs : nil,
            publisherUrl: p.publisherURL.flatMap { try? ServerURL(parsing: $0).description },
            alsoUrls: p.alsoUrls.isEmpty ? nil : p.alsoUrls.compactMap { try? ServerURL(parsing: $0).description },
            clients: p.clients, rate: p.rate, duration: p.duration,
            size: p.size, window: p.scenario == .fanout ? p.window : nil,
            sampleEvery: p.scenario == .fanout ? Int(UInt64(max(1, p.sampleEvery)).nextPowerOfTwo) : nil,
            concurrency: p.concurrency, processes: p.processes, threadsPerProcess: threads,
            sourceAddresses: p.sourceAddresses, pinServer: p.pinServer, pinClient: p.pinClient,
            cpus: cpus, cpuModel: ProcStats.cpuModel)
        let capacity = wall * Double(cpus)
        return BenchResult(
            scenario: p.scenario, parameters: parameters, figures: f,
            clientCpuS: round3(clientCPU), serverCpuS: serverCPU.map(round3),
            cpuShare: CPUShare(client: round3(clientCPU / capacity), server: serverCPU.map { round3($0 / capacity) }),
            servers: serverPIDs.count > 1 ? serverPIDs.indices.map { i in
                ServerUsage(pid: serverPIDs[i], cpuS: serverCPUEach[i].map(round3),
                            cores: serverCPUEach[i].map { round3($0 / wall) },
                            rssBeforeKb: rssBeforeEach[i], rssAfterKb: i < rssAfterEach.count ? rssAfterEach[i] : nil)
            } : nil)
    }

    private static func spanSeconds(_ r: WorkerResult) -> Double? {
        guard let s = r.spanStartNanos, let e = r.spanEndNanos, e > s else { return nil }
        return Double(e - s) / 1e9
    }

    /// Runs `body` for every handle concurrently; results in handle order.
    private static func forEach<T: Sendable>(_ handles: [WorkerHandle],
                                             _ body: @escaping @Sendable (WorkerHandle) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for (i, handle) in handles.enumerated() {
                group.addTask { (i, try await body(handle)) }
            }
            var out = [T?](repeating: nil, count: handles.count)
            for try await (i, value) in group { out[i] = value }
            return out.map { $0! }
        }
    }
}

func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

extension UInt64 {
    var nextPowerOfTwo: UInt64 {
        self <= 1 ? 1 : (self & (self - 1) == 0 ? self : 1 << UInt64(64 - (self - 1).leadingZeroBitCount))
    }
}

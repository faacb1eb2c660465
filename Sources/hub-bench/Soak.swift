#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `hub-bench soak`: churn + echo + fan-out at a moderate load for M minutes, sampling the server.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Connect/disconnect churn, echo and fan-out in rounds for M minutes, sampling the server's RSS, open files and sessions.",
        discussion: """
        Every round runs three phases with fresh clients that all disconnect at the end of the phase:
        connect (N clients), echo (N clients × --echo-rate for --phase seconds) and fanout (N subscribers,
        --fanout-rate messages/s for --phase seconds). A sampler reads the server's VmRSS, /proc/PID/fd and,
        where the server has them (the hub's /metrics), its connections and sockets every --interval
        seconds. RSS drift = last sample under load vs the first sample after --warmup, in percent.
        """)

    @Option(help: "The server, http://host:port.") var url: String
    @Option(help: "Minutes to run (fractions allowed).") var minutes: Double
    @Option(help: "PID of the server (RSS, open files, CPU).") var serverPid: Int32
    @Option(help: "Clients per phase.") var clients: Int = 200
    @Option(help: "Seconds between samples.") var interval: Double = 60
    @Option(help: "Seconds of warm-up before the drift baseline (default: a quarter of the run, at most 300).")
    var warmup: Double?
    @Option(help: "Seconds of each echo / fanout phase.") var phase: Double = 20
    @Option(help: "echo: round trips per second per client.") var echoRate: Double = 2
    @Option(help: "fanout: messages per second.") var fanoutRate: Double = 50
    @Option(help: "Bytes of the echoed object / the published msg.") var size: Int = 100
    @Option(help: "Path of the server's Prometheus metrics (hub_connections, hub_sockets); \"\" to skip.")
    var metricsPath: String = "/metrics"
    @Option(help: "Seconds to wait after the last phase before the final sample.") var settle: Double = 2
    @Flag(help: "Print exactly one JSON object.") var json = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        guard minutes > 0, interval > 0, clients >= 1 else { throw ValidationError("--minutes, --interval and --clients must be positive") }
        var config = Soak.Configuration(url: url, serverPID: serverPid, seconds: minutes * 60)
        config.clients = clients
        config.interval = interval
        config.warmup = warmup ?? min(300, minutes * 60 / 4)
        config.phase = phase
        config.echoRate = echoRate
        config.fanoutRate = fanoutRate
        config.size = size
        config.metricsPath = metricsPath.isEmpty ? nil : metricsPath
        config.settle = settle
        let result: SoakResult
        do {
            result = try await Soak.run(config)
        } catch let error as BenchError {
            logErr("hub-bench: \(error)")
            throw ExitCode.failure
        }
        print(json ? result.jsonString() : result.table())
    }
}

/// One reading of the server.
struct SoakSample: Codable, Sendable {
    /// Seconds since the soak started.
    var t: Double
    var rssKb: Int?
    var openFiles: Int?
    /// hub_connections (Engine.IO sessions) and the sum of hub_sockets, when the server has /metrics.
    var sessions: Int?
    var sockets: Int?
    var serverCpuS: Double?
    /// Which phase was running when the sample was taken.
    var phase: String
}

struct SoakResult: Codable, Sendable {
    struct Totals: Codable, Sendable {
        var rounds = 0
        var phases = 0
        var connects = 0
        var connectFailures = 0
        var errors = 0
        var echoSent = 0
        var acks = 0
        var unanswered = 0
        var published = 0
        var deliveries = 0
        var expectedDeliveries = 0
        var lost = 0
        var outOfOrder = 0
        /// Phases that failed as a whole (the message of the first in `firstFailure`).
        var failedPhases = 0
        var firstFailure: String?
        var echoRttP99MsMax: Double?
        var fanoutLatencyP99MsMax: Double?
    }

    var url: String
    var serverPid: Int32
    var seconds: Double
    var clients: Int
    var interval: Double
    var warmup: Double
    var phase: Double
    var echoRate: Double
    var fanoutRate: Double
    var samples: [SoakSample]
    /// After the last phase and `settle` seconds, every client gone.
    var after: SoakSample?
    var totals: Totals
    /// The first sample at or after the warm-up, and the last one under load.
    var baselineRssKb: Int?
    var lastRssKb: Int?
    var rssDriftPct: Double?
    var loadAverageStart: [Double]
    var loadAverageEnd: [Double]

    func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    func table() -> String {
        func s(_ v: Int?) -> String { v.map(String.init) ?? "—" }
        var out = "hub-bench soak → \(url)  \(String(format: "%.1f", seconds / 60)) min  clients=\(clients)/phase  "
        out += "echo \(echoRate)/s/client, fanout \(fanoutRate) msg/s, phases of \(phase) s, sample every \(interval) s\n"
        out += "       t s     RSS kB   fds  sessions  sockets  phase\n"
        for sample in samples + (after.map { [$0] } ?? []) {
            out += String(format: "  %8.1f", sample.t) + "  " + s(sample.rssKb).leftPad(9) + "  " + s(sample.openFiles).leftPad(4)
                + "  " + s(sample.sessions).leftPad(8) + "  " + s(sample.sockets).leftPad(7) + "  " + sample.phase + "\n"
        }
        let t = totals
        out += "  rounds \(t.rounds), connects \(t.connects) (failed \(t.connectFailures)), acks \(t.acks)/\(t.echoSent) (unanswered \(t.unanswered)), "
        out += "deliveries \(t.deliveries)/\(t.expectedDeliveries) (lost \(t.lost), out of order \(t.outOfOrder)), errors \(t.errors), failed phases \(t.failedPhases)\n"
        if let f = t.firstFailure { out += "  first failure: \(f)\n" }
        if let d = rssDriftPct {
            out += String(format: "  RSS drift %+.2f %% (%d → %d kB, baseline after %.0f s of warm-up)", d, baselineRssKb ?? 0, lastRssKb ?? 0, warmup)
        } else {
            out += "  RSS drift: — (fewer than two samples after the warm-up)"
        }
        return out
    }
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

enum Soak {
    struct Configuration: Sendable {
        var url: String
        var serverPID: Int32
        var seconds: Double
        var clients = 200
        var interval: Double = 60
        var warmup: Double = 300
        var phase: Double = 20
        var echoRate: Double = 2
        var fanoutRate: Double = 50
        var size = 100
        var metricsPath: String? = "/metrics"
        var settle: Double = 2
    }

    /// The phase now running, for the sampler's labels.
    final class PhaseLabel: @unchecked Sendable {
        private let lock = NSLock()
        private var value = "start"
        func set(_ v: String) { lock.lock(); value = v; lock.unlock() }
        func get() -> String { lock.lock(); defer { lock.unlock() }; return value }
    }

    static func run(_ c: Configuration, log: @escaping @Sendable (String) -> Void = { logErr($0) }) async throws -> SoakResult {
        let server = try ServerURL(parsing: c.url)
        guard ProcStats.rssKB(pid: c.serverPID) != nil else {
            throw BenchError.usage("no process \(c.serverPID) (--server-pid) to sample")
        }
        let start = monotonicNanos()
        let elapsed: @Sendable () -> Double = { Double(monotonicNanos() - start) / 1e9 }
        let label = PhaseLabel()
        let loadStart = Probe.loadAverage()

        // The sampler: one reading every `interval` seconds until cancelled.
        let sampler = Task.detached { () -> [SoakSample] in
            var samples: [SoakSample] = []
            var next = 0.0
            while !Task.isCancelled {
                let now = elapsed()
                if now >= next {
                    let sample = read(server: server, pid: c.serverPID, metricsPath: c.metricsPath, t: now, phase: label.get())
                    samples.append(sample)
                    log(String(format: "soak %.0f s: RSS %@ kB, %@ fds, %@ sessions (%@)", now,
                               sample.rssKb.map(String.init) ?? "—", sample.openFiles.map(String.init) ?? "—",
                               sample.sessions.map(String.init) ?? "—", sample.phase))
                    next += c.interval
                    while next <= elapsed() { next += c.interval }
                }
                try? await Task.sleep(nanoseconds: UInt64(min(0.1, max(0.01, next - elapsed())) * 1e9))
            }
            return samples
        }

        var totals = SoakResult.Totals()
        let quiet: @Sendable (String) -> Void = { _ in }
        loop: while elapsed() < c.seconds {
            totals.rounds += 1
            for scenario in [Scenario.connect, .echo, .fanout] {
                let left = c.seconds - elapsed()
                if left <= 0 { break loop }
                var p = ScenarioParameters(scenario: scenario)
                p.clients = c.clients
                p.size = c.size
                p.duration = max(0.5, min(c.phase, left))
                p.rate = scenario == .echo ? c.echoRate : (scenario == .fanout ? c.fanoutRate : 0)
                p.threads = 1
                p.drainTimeout = 5
                label.set(scenario.rawValue)
                totals.phases += 1
                do {
                    let r = try await BenchRunner.run(url: c.url, serverPID: c.serverPID, parameters: p, log: quiet)
                    add(r, to: &totals)
                } catch {
                    totals.failedPhases += 1
                    if totals.firstFailure == nil { totals.firstFailure = "\(scenario.rawValue): \(error)" }
                    log("soak: \(scenario.rawValue) failed: \(error)")
                    try await Task.sleep(nanoseconds: 1_000_000_000)
                }
            }
        }
        label.set("under load")
        sampler.cancel()
        var samples = await sampler.value
        // The last reading under load, if the sampler's last one is older than a second.
        if let last = samples.last, elapsed() - last.t > 1 {
            samples.append(read(server: server, pid: c.serverPID, metricsPath: c.metricsPath, t: elapsed(), phase: "end"))
        }
        try await Task.sleep(nanoseconds: UInt64(c.settle * 1e9))
        let after = read(server: server, pid: c.serverPID, metricsPath: c.metricsPath, t: elapsed(), phase: "after (no clients)")

        let afterWarmup = samples.filter { $0.t >= c.warmup && $0.rssKb != nil }
        var drift: Double?
        var baseline: Int?
        var last: Int?
        if afterWarmup.count >= 2, let b = afterWarmup.first?.rssKb, let l = afterWarmup.last?.rssKb, b > 0 {
            baseline = b
            last = l
            drift = round3(Double(l - b) / Double(b) * 100)
        }
        return SoakResult(
            url: server.description, serverPid: c.serverPID, seconds: c.seconds, clients: c.clients, interval: c.interval,
            warmup: c.warmup, phase: c.phase, echoRate: c.echoRate, fanoutRate: c.fanoutRate, samples: samples,
            after: after, totals: totals, baselineRssKb: baseline, lastRssKb: last, rssDriftPct: drift,
            loadAverageStart: loadStart, loadAverageEnd: Probe.loadAverage())
    }

    private static func add(_ r: BenchResult, to t: inout SoakResult.Totals) {
        let f = r.figures
        t.errors += f.errors ?? 0
        t.connectFailures += f.connectFailures ?? 0
        switch r.scenario {
        case .connect:
            t.connects += f.connects ?? 0
        case .echo:
            t.connects += f.connections ?? 0
            t.echoSent += f.sent ?? 0
            t.acks += f.acks ?? 0
            t.unanswered += f.unanswered ?? 0
            if let p = f.rttP99Ms { t.echoRttP99MsMax = max(t.echoRttP99MsMax ?? 0, p) }
        case .fanout:
            t.connects += f.subscribers ?? 0
            t.published += f.published ?? 0
            t.deliveries += f.deliveries ?? 0
            t.expectedDeliveries += f.expectedDeliveries ?? 0
            t.lost += f.lost ?? 0
            t.outOfOrder += f.outOfOrder ?? 0
            if let p = f.latencyP99Ms { t.fanoutLatencyP99MsMax = max(t.fanoutLatencyP99MsMax ?? 0, p) }
        default:
            break
        }
    }

    static func read(server: ServerURL, pid: Int32, metricsPath: String?, t: Double, phase: String) -> SoakSample {
        var sample = SoakSample(t: round1(t), rssKb: ProcStats.rssKB(pid: pid), openFiles: Probe.openFiles(pid: pid),
                                serverCpuS: ProcStats.cpuSeconds(pid: pid), phase: phase)
        if let path = metricsPath, let r = Probe.get(host: server.host, port: server.port, path: path, timeout: 2), r.status == 200 {
            var sockets: Int?
            for line in r.body.split(separator: "\n") {
                if line.hasPrefix("hub_connections "), let v = Double(line.split(separator: " ").last ?? "") {
                    sample.sessions = Int(v)
                } else if line.hasPrefix("hub_sockets{"), let v = Double(line.split(separator: " ").last ?? "") {
                    sockets = (sockets ?? 0) + Int(v)
                }
            }
            sample.sockets = sockets
        }
        return sample
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `hub-bench compare`: the same scenario against the hub and each peer in turn, one table.
struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Start the hub and each peer in turn on free ports, run one scenario against each, print the figures side by side with the ratios hub/peer.",
        discussion: """
        Builds nothing: the hub is the `hub` binary beside hub-bench (or --hub-bin), the peers are the
        scripts in Benchmarks/peers run by the bench venv's python (`make bench-venv`). Each server is
        started fresh for the scenario and stopped after it.
        """)

    @OptionGroup var options: RunOptions
    @Flag(help: "Print exactly one JSON object.") var json = false
    @Option(help: "Servers, in order: \(ServerKind.allCases.map(\.rawValue).joined(separator: ","))")
    var peers: String = ServerKind.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "The hub binary (default: `hub` beside hub-bench).") var hubBin: String?
    @Option(help: "Python for the peers (default: <peers-dir>/.venv/bin/python).") var python: String?
    @Option(help: "Directory of the peer scripts (default: Benchmarks/peers, looked up from here and from hub-bench's directory).")
    var peersDir: String?
    @Option(help: "Recorded in the JSON: the git commit the hub binary was built from.") var hubCommit: String?
    @Option(help: "Seconds to wait for a server to answer an Engine.IO handshake.") var startupTimeout: Double = 30
    @Option(help: "Seconds one server's run may take (setup included); then the server is killed and the run recorded as failed.")
    var runTimeout: Double = 300

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let parameters = try options.parameters()
        let kinds = try peers.split(separator: ",").map { name -> ServerKind in
            guard let kind = ServerKind(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown server '\(name)' (\(ServerKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
        let locations = try ServerLocations(hubBin: hubBin, python: python, peersDir: peersDir, needed: kinds)
        let result = try await Comparison.run(kinds: kinds, locations: locations, parameters: parameters,
                                              hubCommit: hubCommit, startupTimeout: startupTimeout,
                                              runTimeout: runTimeout)
        if json {
            print(result.jsonString())
        } else {
            print(CompareReport.table(result))
        }
    }
}

/// The servers `compare` knows how to start.
enum ServerKind: String, Codable, CaseIterable, Sendable {
    case hub
    case pythonSocketIO = "python-socketio"
    case flaskSocketIO = "flask-socketio"

    var script: String? {
        switch self {
        case .hub: return nil
        case .pythonSocketIO: return "python_socketio_server.py"
        case .flaskSocketIO: return "flask_socketio_server.py"
        }
    }
}

/// Where the hub binary, the peer scripts and the python are.
struct ServerLocations: Sendable {
    var hubBin: String
    var python: String
    var peersDir: String

    init(hubBin: String?, python: String?, peersDir: String?, needed: [ServerKind]) throws {
        let exeDir = URL(fileURLWithPath: RemoteWorkerHandle.executablePath()).deletingLastPathComponent()
        self.hubBin = hubBin ?? exeDir.appendingPathComponent("hub").path
        if needed.contains(.hub) && !FileManager.default.isExecutableFile(atPath: self.hubBin) {
            throw ValidationError("no hub binary at \(self.hubBin) (build it: swift build -c release, or give --hub-bin)")
        }
        // Benchmarks/peers from the working directory or any parent of hub-bench's directory.
        var candidates: [URL] = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var dir = exeDir
        while dir.pathComponents.count > 1 {
            candidates.append(dir)
            dir.deleteLastPathComponent()
        }
        let found = peersDir ?? candidates.map { $0.appendingPathComponent("Benchmarks/peers").path }
            .first { FileManager.default.fileExists(atPath: $0 + "/python_socketio_server.py") }
        let needsPeers = needed.contains { $0 != .hub }
        if needsPeers && found == nil {
            throw ValidationError("Benchmarks/peers not found from here or from \(exeDir.path); give --peers-dir")
        }
        self.peersDir = found ?? "Benchmarks/peers"
        self.python = python ?? self.peersDir + "/.venv/bin/python"
        if needsPeers && !FileManager.default.isExecutableFile(atPath: self.python) {
            throw ValidationError("no python at \(self.python) (run `make bench-venv`, or give --python)")
        }
    }

    func command(_ kind: ServerKind, port: Int) -> [String] {
        switch kind {
        case .hub: return [hubBin, "serve", "--bench", "--port", "\(port)", "--log-level", "warning"]
        default: return [python, peersDir + "/" + kind.script!, "--port", "\(port)"]
        }
    }
}

/// A server process started by `compare` (its output goes to a log file under the temp directory).
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let logPath: String

    init(command: [String], name: String) throws {
        logPath = NSTemporaryDirectory() + "hub-bench-\(name)-\(getpid()).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log ?? FileHandle.nullDevice
        process.standardError = log ?? FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits until the server answers an Engine.IO handshake.
    func waitReady(_ server: ServerURL, timeout: Double) async throws {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while !Probe.engineIOReady(server) {
            guard process.isRunning else {
                throw BenchError.system("the server exited (status \(process.terminationStatus)); log: \(logPath)\n\(logTail())")
            }
            guard monotonicNanos() < deadline else {
                throw BenchError.system("no Engine.IO handshake at \(server.description) after \(timeout) s; log: \(logPath)")
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// SIGTERM, then SIGKILL after 5 s.
    func stop() async {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where process.isRunning {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    func logTail(_ lines: Int = 8) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// What `compare --json` prints.
struct ComparisonResult: Codable, Sendable {
    struct Run: Codable, Sendable {
        var server: ServerKind
        var command: [String]
        /// /proc/loadavg (1, 5, 15 min) just before the server was started, and after the run.
        var loadAverageBefore: [Double]
        var loadAverageAfter: [Double]
        var result: BenchResult?
        var error: String?
    }

    var scenario: Scenario
    var clients: Int
    var parameters: ScenarioParameters
    var hubCommit: String?
    var startedAt: String
    var cpus: Int
    var cpuModel: String
    var memTotalKb: Int?
    var runs: [Run]
    /// hub ÷ peer for every figure both have (non-zero), keyed by peer, then figure.
    var ratios: [String: [String: Double]]

    func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

enum Comparison {
    static func run(kinds: [ServerKind], locations: ServerLocations, parameters: ScenarioParameters,
                    hubCommit: String?, startupTimeout: Double, runTimeout: Double = 300,
                    log: @Sendable (String) -> Void = { logErr($0) }) async throws -> ComparisonResult {
        ProcStats.raiseFileLimit()  // the servers inherit it
        var runs: [ComparisonResult.Run] = []
        for kind in kinds {
            let port = try Probe.freePort()
            let command = locations.command(kind, port: port)
            let url = "http://127.0.0.1:\(port)"
            var run = ComparisonResult.Run(server: kind, command: command, loadAverageBefore: Probe.loadAverage(),
                                           loadAverageAfter: [])
            log("== \(kind.rawValue): \(command.joined(separator: " "))  (load \(run.loadAverageBefore.map { String($0) }.joined(separator: " ")))")
            var server: ServerProcess?
            do {
                let started = try ServerProcess(command: command, name: kind.rawValue)
                server = started
                try await started.waitReady(try ServerURL(parsing: url), timeout: startupTimeout)
                // A server that stops answering must not hold the comparison forever: after
                // runTimeout it is killed, which ends the run (its clients fail at once).
                let pid = started.pid
                let watchdog = Task.detached {
                    try await Task.sleep(nanoseconds: UInt64(runTimeout * 1e9))
                    kill(pid, SIGKILL)
                }
                defer { watchdog.cancel() }
                do {
                    run.result = try await BenchRunner.run(url: url, serverPID: started.pid, parameters: parameters, log: log)
                } catch {
                    if !started.process.isRunning && !watchdog.isCancelled {
                        throw BenchError.system("the server is gone (killed after --run-timeout \(runTimeout) s, or it crashed; log: \(started.logPath)): \(error)")
                    }
                    throw error
                }
                if !started.process.isRunning {
                    run.error = "the server exited during the run (status \(started.process.terminationStatus))"
                        + (started.process.terminationStatus == SIGKILL ? ", killed after --run-timeout \(runTimeout) s" : "")
                        + "; log: \(started.logPath)"
                }
            } catch {
                run.error = "\(error)"
                log("\(kind.rawValue): \(error)")
            }
            await server?.stop()
            run.loadAverageAfter = Probe.loadAverage()
            runs.append(run)
        }
        return ComparisonResult(
            scenario: parameters.scenario, clients: parameters.clients, parameters: parameters, hubCommit: hubCommit,
            startedAt: ISO8601DateFormatter().string(from: Date()), cpus: ProcStats.onlineCPUs,
            cpuModel: ProcStats.cpuModel, memTotalKb: memTotalKB(), runs: runs, ratios: ratios(runs))
    }

    static func ratios(_ runs: [ComparisonResult.Run]) -> [String: [String: Double]] {
        guard let hub = runs.first(where: { $0.server == .hub })?.result else { return [:] }
        let hubFigures = numbers(hub)
        var out: [String: [String: Double]] = [:]
        for run in runs where run.server != .hub {
            guard let result = run.result else { continue }
            var r: [String: Double] = [:]
            for (key, peerValue) in numbers(result) {
                if let hubValue = hubFigures[key], peerValue != 0 {
                    r[key] = (hubValue / peerValue * 1000).rounded() / 1000
                }
            }
            out[run.server.rawValue] = r
        }
        return out
    }

    /// The figures of a result (and the CPU shares) by their JSON names.
    static func numbers(_ r: BenchResult) -> [String: Double] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(r.figures),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var out: [String: Double] = [:]
        for (k, v) in object {
            if let n = v as? NSNumber { out[k] = n.doubleValue }
        }
        out["client_cpu_s"] = r.clientCpuS
        if let s = r.serverCpuS { out["server_cpu_s"] = s }
        return out
    }

    static func memTotalKB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            return Int(line.dropFirst(9).filter { $0.isNumber })
        }
        return nil
    }
}

/// The table of `compare` without --json.
enum CompareReport {
    /// The figures shown per scenario: JSON name, label, and whether higher is better.
    static func rows(_ scenario: Scenario) -> [(String, String, Bool)] {
        var rows: [(String, String, Bool)]
        switch scenario {
        case .connect:
            rows = [("connects", "connects", true), ("connect_failures", "connect failures", false),
                    ("connects_per_s", "connects/s", true), ("connect_p50_ms", "connect p50 ms", false),
                    ("connect_p99_ms", "connect p99 ms", false)]
        case .idle:
            rows = [("connections", "connections", true), ("connect_failures", "connect failures", false),
                    ("server_rss_per_connection_kb", "server RSS / connection kB", false),
                    ("server_rss_after_kb", "server RSS after kB", false),
                    ("server_idle_cpu_pct", "server CPU idle % of a core", false)]
        case .echo:
            rows = [("connections", "connections", true), ("acks_per_s", "acks/s", true),
                    ("rtt_p50_ms", "RTT p50 ms", false), ("rtt_p90_ms", "RTT p90 ms", false),
                    ("rtt_p99_ms", "RTT p99 ms", false), ("rtt_max_ms", "RTT max ms", false),
                    ("unanswered", "unanswered", false),
                    ("server_cpu_us_per_round_trip", "server CPU µs / round trip", false)]
        case .polling:
            rows = [("connections", "connections", true), ("round_trips_per_s", "round trips/s", true),
                    ("rtt_p50_ms", "RTT p50 ms", false), ("rtt_p90_ms", "RTT p90 ms", false),
                    ("rtt_p99_ms", "RTT p99 ms", false), ("unanswered", "unanswered", false),
                    ("server_cpu_us_per_round_trip", "server CPU µs / round trip", false)]
        case .fanout:
            rows = [("subscribers", "subscribers", true), ("deliveries_per_s", "deliveries/s", true),
                    ("server_cpu_us_per_delivery", "server CPU µs / delivery", false),
                    ("client_cpu_us_per_delivery", "client CPU µs / delivery", false),
                    ("latency_p50_ms", "latency p50 ms", false), ("latency_p99_ms", "latency p99 ms", false),
                    ("lost", "lost", false), ("out_of_order", "out of order", false)]
        }
        rows += [("server_cores", "server cores", false), ("client_cores", "client cores", false),
                 ("errors", "errors (disconnects)", false)]
        return rows
    }

    static func table(_ c: ComparisonResult) -> String {
        let names = c.runs.map { $0.server.rawValue }
        let values = c.runs.map { $0.result.map(Comparison.numbers) }
        let peers = c.runs.filter { $0.server != .hub }.map { $0.server.rawValue }
        let hasHub = c.runs.contains { $0.server == .hub }
        var header = ["figure"] + names
        if hasHub { header += peers.map { "hub/\($0)" } }
        var lines: [[String]] = [header]
        for (key, label, higherBetter) in rows(c.scenario) {
            var line = [label + (higherBetter ? " ↑" : " ↓")]
            for v in values {
                line.append(v == nil ? "failed" : v![key].map(format) ?? "—")
            }
            if hasHub {
                for peer in peers { line.append(c.ratios[peer]?[key].map { String(format: "%.2f×", $0) } ?? "—") }
            }
            lines.append(line)
        }
        let widths = (0..<header.count).map { i in lines.map { $0[i].count }.max() ?? 0 }
        let p = c.parameters
        var out = "hub-bench compare \(c.scenario.rawValue)  clients=\(c.clients)"
        switch c.scenario {
        case .echo, .polling: out += "  rate=\(p.rate)/s/client"
        case .fanout: out += p.rate == 0 ? "  window=\(p.window)" : "  rate=\(p.rate)/s"
        default: break
        }
        if c.scenario != .connect { out += "  duration=\(p.duration)s" }
        out += "  size=\(p.size)  processes=\(p.processes)×\(p.resolvedThreads) loops\n"
        for line in lines {
            out += "  " + line.enumerated().map { i, cell in
                i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ") + "\n"
        }
        for run in c.runs {
            let load = "load \(run.loadAverageBefore.map { String($0) }.joined(separator: " "))"
            out += "  \(run.server.rawValue): \(run.error.map { "FAILED: \($0)" } ?? "ok") (\(load))\n"
        }
        out += "  ↑ higher is better, ↓ lower is better; ratios are hub ÷ peer  (\(c.cpus) CPUs: \(c.cpuModel))"
        return out
    }

    static func format(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(Int(d)) }
        return abs(d) >= 100 ? String(format: "%.1f", d) : String(format: "%.3f", d)
    }
}

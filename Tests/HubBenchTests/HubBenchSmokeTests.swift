import Foundation
import XCTest

/// Runs every hub-bench scenario for about a second at small N against a real `hub serve --bench`
/// (both binaries from the build directory this test bundle is in) and checks that the figures are
/// present and sane. Never a speed threshold: benchmarks measure speed, tests do not.
///
/// The binaries are found next to the test bundle (`swift test` builds every product), or in
/// `HUB_BENCH_BIN_DIR`.
final class HubBenchSmokeTests: XCTestCase {
    static let clients = 12

    func testConnect() throws {
        try withServer { url, pid in
            let r = try bench(url, pid, "connect", ["--clients", "\(Self.clients)"])
            let f = try figures(r)
            XCTAssertEqual(f["connects"] as? Int, Self.clients)
            XCTAssertEqual(f["connect_failures"] as? Int, 0)
            XCTAssertGreaterThan(f["connects_per_s"] as? Double ?? 0, 0)
            XCTAssertNotNil(f["connect_p50_ms"] as? Double)
            XCTAssertNotNil(f["connect_p99_ms"] as? Double)
            try checkCPU(r)
        }
    }

    func testIdle() throws {
        try withServer { url, pid in
            let r = try bench(url, pid, "idle", ["--clients", "\(Self.clients)", "--duration", "1", "--settle", "0.5"])
            let f = try figures(r)
            XCTAssertEqual(f["connections"] as? Int, Self.clients)
            XCTAssertGreaterThan(f["server_rss_before_kb"] as? Int ?? 0, 0)
            XCTAssertGreaterThan(f["server_rss_after_kb"] as? Int ?? 0, 0)
            XCTAssertNotNil(f["server_rss_per_connection_kb"] as? Double)
            XCTAssertNotNil(f["server_idle_cpu_pct"] as? Double)
            XCTAssertEqual(f["errors"] as? Int, 0)
            try checkCPU(r)
        }
    }

    func testEcho() throws {
        try withServer { url, pid in
            let r = try bench(url, pid, "echo", ["--clients", "\(Self.clients)", "--rate", "20", "--duration", "1"])
            let f = try figures(r)
            XCTAssertEqual(f["connections"] as? Int, Self.clients)
            XCTAssertGreaterThan(f["acks"] as? Int ?? 0, 0)
            XCTAssertGreaterThan(f["acks_per_s"] as? Double ?? 0, 0)
            XCTAssertEqual(f["unanswered"] as? Int, 0)
            XCTAssertEqual(f["errors"] as? Int, 0)
            for key in ["rtt_p50_ms", "rtt_p90_ms", "rtt_p99_ms", "rtt_max_ms"] {
                XCTAssertNotNil(f[key] as? Double, key)
            }
            try checkCPU(r)
        }
    }

    func testFanoutWindow() throws {
        try withServer { url, pid in
            let r = try bench(url, pid, "fanout", ["--clients", "\(Self.clients)", "--duration", "1", "--window", "8"])
            try checkFanout(r, subscribers: Self.clients)
        }
    }

    /// Fixed rate, two worker processes (the re-exec'd `worker` subcommand and the merge over the pipe).
    func testFanoutRateTwoProcesses() throws {
        try withServer { url, pid in
            let r = try bench(url, pid, "fanout", ["--clients", "\(Self.clients)", "--duration", "1", "--rate", "200",
                                                   "--processes", "2", "--sample-every", "4"])
            try checkFanout(r, subscribers: Self.clients)
            let params = try XCTUnwrap(r["parameters"] as? [String: Any])
            XCTAssertEqual(params["processes"] as? Int, 2)
        }
    }

    /// `--publisher-url` sends the publisher to another server and `--server-pid` twice sums both.
    /// Two hubs without a shared adapter: the publisher (on B) gets only its own copies, so the
    /// subscribers on A miss every message — which shows the publisher really connected to B.
    func testFanoutPublisherOnAnotherServerTwoPIDs() throws {
        try withServer { urlA, pidA in
            try withServer { urlB, pidB in
                let r = try hubBench(["run", "--url", urlA, "--publisher-url", urlB, "--scenario", "fanout",
                                      "--server-pid", "\(pidA)", "--server-pid", "\(pidB)", "--json",
                                      "--clients", "6", "--duration", "1", "--window", "4", "--drain-timeout", "0.5"],
                                     name: "fanout-publisher-url")
                let f = try figures(r)
                let published = f["published"] as? Int ?? 0
                XCTAssertGreaterThan(published, 0)
                XCTAssertEqual(f["subscribers"] as? Int, 6)
                XCTAssertEqual(f["deliveries"] as? Int, published, "only the publisher's own copies (on B)")
                XCTAssertEqual(f["lost"] as? Int, published * 5)
                let params = try XCTUnwrap(r["parameters"] as? [String: Any])
                XCTAssertEqual(params["publisher_url"] as? String, urlB + "/socket.io/")
                XCTAssertEqual(params["server_pids"] as? [Int], [Int(pidA), Int(pidB)])
                let servers = try XCTUnwrap(r["servers"] as? [[String: Any]])
                XCTAssertEqual(servers.map { $0["pid"] as? Int }, [Int(pidA), Int(pidB)])
                let each = servers.compactMap { $0["cpu_s"] as? Double }
                XCTAssertEqual(each.count, 2)
                let total = try XCTUnwrap(r["server_cpu_s"] as? Double)
                XCTAssertEqual(total, each.reduce(0, +), accuracy: 0.0021)
            }
        }
    }

    func testPolling() throws {
        try withServer { url, pid in
            let r = try bench(url, pid, "polling", ["--clients", "6", "--rate", "10", "--duration", "1"])
            let f = try figures(r)
            XCTAssertEqual(f["connections"] as? Int, 6)
            XCTAssertGreaterThan(f["round_trips"] as? Int ?? 0, 0)
            XCTAssertEqual(f["unanswered"] as? Int, 0)
            XCTAssertEqual(f["errors"] as? Int, 0)
            XCTAssertNotNil(f["rtt_p50_ms"] as? Double)
            try checkCPU(r)
        }
    }

    /// `soak` for a few seconds: every phase ran, nothing lost or unanswered, the curve has samples,
    /// and once the clients are gone no session or socket outlives them (the hub's /metrics).
    func testSoak() throws {
        try withServer { url, pid in
            let r = try hubBench(["soak", "--url", url, "--server-pid", "\(pid)", "--minutes", "0.08", "--interval", "1",
                                  "--warmup", "1", "--phase", "1", "--clients", "8", "--fanout-rate", "100",
                                  "--echo-rate", "10", "--settle", "1", "--json"], name: "soak")
            let totals = try XCTUnwrap(r["totals"] as? [String: Any])
            XCTAssertGreaterThanOrEqual(totals["rounds"] as? Int ?? 0, 1)
            XCTAssertEqual(totals["failed_phases"] as? Int, 0, "\(totals["first_failure"] ?? "")")
            XCTAssertGreaterThanOrEqual(totals["connects"] as? Int ?? 0, 8 * 3)
            XCTAssertEqual(totals["connect_failures"] as? Int, 0)
            XCTAssertGreaterThan(totals["acks"] as? Int ?? 0, 0)
            XCTAssertEqual(totals["unanswered"] as? Int, 0)
            let published = totals["published"] as? Int ?? 0
            XCTAssertGreaterThan(published, 0)
            XCTAssertEqual(totals["lost"] as? Int, 0)
            XCTAssertEqual(totals["deliveries"] as? Int, totals["expected_deliveries"] as? Int)
            XCTAssertEqual(totals["errors"] as? Int, 0)
            let samples = try XCTUnwrap(r["samples"] as? [[String: Any]])
            XCTAssertGreaterThanOrEqual(samples.count, 3)
            for sample in samples {
                XCTAssertGreaterThan(sample["rss_kb"] as? Int ?? 0, 0)
                XCTAssertGreaterThan(sample["open_files"] as? Int ?? 0, 0)
                XCTAssertNotNil(sample["sessions"] as? Int, "the hub's /metrics gives hub_connections")
            }
            XCTAssertNotNil(r["rss_drift_pct"] as? Double)
            let after = try XCTUnwrap(r["after"] as? [String: Any])
            XCTAssertEqual(after["sessions"] as? Int, 0, "a session outlived its client")
            XCTAssertEqual(after["sockets"] as? Int, 0, "a socket outlived its client")
        }
    }

    /// `compare --peers hub`: starts the hub beside hub-bench itself, runs, stops it, one JSON object.
    func testCompareHubOnly() throws {
        let hub = try executable("hub")
        let r = try hubBench(["compare", "--peers", "hub", "--hub-bin", hub.path, "--scenario", "echo",
                              "--clients", "6", "--rate", "20", "--duration", "1", "--json"], name: "compare")
        XCTAssertEqual(r["scenario"] as? String, "echo")
        let runs = try XCTUnwrap(r["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 1)
        XCTAssertEqual(runs.first?["server"] as? String, "hub")
        XCTAssertNil(runs.first?["error"] as? String)
        let result = try XCTUnwrap(runs.first?["result"] as? [String: Any])
        let f = try figures(result)
        XCTAssertEqual(f["connections"] as? Int, 6)
        XCTAssertGreaterThan(f["acks"] as? Int ?? 0, 0)
        XCTAssertEqual(f["unanswered"] as? Int, 0)
    }

    // MARK: checks

    private func checkFanout(_ r: [String: Any], subscribers: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let f = try figures(r)
        let published = f["published"] as? Int ?? 0
        XCTAssertGreaterThan(published, 0, file: file, line: line)
        XCTAssertEqual(f["subscribers"] as? Int, subscribers, file: file, line: line)
        XCTAssertEqual(f["lost"] as? Int, 0, file: file, line: line)
        XCTAssertEqual(f["deliveries"] as? Int, published * subscribers, file: file, line: line)
        XCTAssertEqual(f["expected_deliveries"] as? Int, published * subscribers, file: file, line: line)
        XCTAssertGreaterThan(f["deliveries_per_s"] as? Double ?? 0, 0, file: file, line: line)
        XCTAssertGreaterThan(f["latency_samples"] as? Int ?? 0, 0, file: file, line: line)
        XCTAssertNotNil(f["latency_p50_ms"] as? Double, file: file, line: line)
        XCTAssertNotNil(f["latency_p99_ms"] as? Double, file: file, line: line)
        XCTAssertNotNil(f["server_cpu_us_per_delivery"] as? Double, file: file, line: line)
        try checkCPU(r, file: file, line: line)
    }

    private func checkCPU(_ r: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNotNil(r["scenario"] as? String, file: file, line: line)
        XCTAssertGreaterThanOrEqual(r["client_cpu_s"] as? Double ?? -1, 0, file: file, line: line)
        XCTAssertGreaterThanOrEqual(r["server_cpu_s"] as? Double ?? -1, 0, file: file, line: line)
        let share = try XCTUnwrap(r["cpu_share"] as? [String: Any], file: file, line: line)
        XCTAssertNotNil(share["client"] as? Double, file: file, line: line)
        XCTAssertNotNil(share["server"] as? Double, file: file, line: line)
    }

    private func figures(_ r: [String: Any]) throws -> [String: Any] {
        try XCTUnwrap(r["figures"] as? [String: Any], "no figures in \(r)")
    }

    // MARK: processes

    private func binDir() throws -> URL {
        if let dir = ProcessInfo.processInfo.environment["HUB_BENCH_BIN_DIR"] {
            return URL(fileURLWithPath: dir)
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // macOS: …/X.xctest/Contents/MacOS/X
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("hub-bench").path),
              dir.pathComponents.count > 2, dir.lastPathComponent != ".build" {
            dir.deleteLastPathComponent()
        }
        return dir
    }

    private func executable(_ name: String) throws -> URL {
        let url = try binDir().appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw NSError(domain: "HubBenchSmokeTests", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "\(name) is not built next to the test bundle (\(url.path)); run `swift build` or set HUB_BENCH_BIN_DIR"])
        }
        return url
    }

    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NSError(domain: "socket", code: Int(errno)) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw NSError(domain: "bind", code: Int(errno)) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Starts `hub serve --bench` on a free port for the length of `body`.
    private func withServer(_ body: (String, Int32) throws -> Void) throws {
        let hub = try executable("hub")
        _ = try executable("hub-bench")
        let port = try freePort()
        let server = Process()
        server.executableURL = hub
        server.arguments = ["serve", "--bench", "--port", "\(port)", "--log-level", "warning"]
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(30)
        while !canConnect(port: port) {
            guard server.isRunning, Date() < deadline else {
                XCTFail("hub serve --bench did not start listening on port \(port)")
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try body("http://127.0.0.1:\(port)", server.processIdentifier)
    }

    /// `hub-bench run --json …`: the one JSON object it prints.
    private func bench(_ url: String, _ pid: Int32, _ scenario: String, _ args: [String]) throws -> [String: Any] {
        let result = try hubBench(["run", "--url", url, "--scenario", scenario, "--server-pid", "\(pid)", "--json",
                                   "--drain-timeout", "5"] + args, name: scenario)
        XCTAssertEqual(result["scenario"] as? String, scenario)
        return result
    }

    /// Runs hub-bench with `args` (which include --json) and returns the one JSON object it prints.
    private func hubBench(_ args: [String], name: String) throws -> [String: Any] {
        let process = Process()
        process.executableURL = try executable("hub-bench")
        process.arguments = args
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // A watchdog: a hung run fails the test instead of hanging `make test`.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 90, execute: watchdog)
        // stderr on its own thread: a full pipe must not block the child while stdout is read.
        let stderrBox = DataBox()
        let errDone = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            stderrBox.data = errHandle.readDataToEndOfFile()
            errDone.signal()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        errDone.wait()
        let stderr = stderrBox.data
        process.waitUntilExit()
        watchdog.cancel()
        let errText = String(decoding: stderr, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "hub-bench", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "hub-bench \(name) exited \(process.terminationStatus): \(errText)"])
        }
        let text = String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(text.contains("\n"), "--json must print exactly one JSON object: \(text)")
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(text)")
    }
}

/// stderr of a child, read on another thread (written once before the semaphore, read after it).
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

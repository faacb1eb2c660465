import Foundation

/// What `hub-bench run` measures.
enum Scenario: String, Codable, CaseIterable, Sendable {
    case connect, idle, echo, fanout, polling
}

/// The scenario parameters of one run: everything except the server (URL and PID), so that
/// `compare` can run the same parameters against several servers.
struct ScenarioParameters: Codable, Sendable {
    var scenario: Scenario
    var clients: Int = 100
    /// echo / polling: round trips per second per client (0 = closed loop, one in flight per client);
    /// fanout: messages per second from the publisher (0 = as fast as the window allows).
    var rate: Double = 0
    /// Seconds of load after setup (connect: ignored, it runs until every client has connected).
    var duration: Double = 10
    /// echo / polling: bytes of the echoed JSON object; fanout: bytes of the published `msg` object.
    var size: Int = 100
    /// fanout without --rate: messages in flight, counted by the publisher's own copy.
    var window: Int = 16
    /// fanout: decode the latency of 1 message in this many (a power of two is cheapest).
    var sampleEvery: Int = 64
    /// Handshakes in flight at once (connect scenario, and the setup of the others).
    var concurrency: Int = 100
    /// Worker processes (each with its own 20,000 file limit).
    var processes: Int = 1
    /// Event loops per process (nil = `defaultThreads`).
    var threads: Int?

    /// What `--threads` defaults to, for the help text. One event loop per process: on the 2-core
    /// machine the figures are taken on, a single loop spends less CPU per delivery than one per core
    /// (fan-out, 1000 subscribers: 4.9–5.4 µs against 7.7–11 µs, Docs/benchmarks.md), which leaves
    /// more of the machine to the server. Use --processes (or --threads) for more.
    static let defaultThreads = "1"

    /// The event loops per process of a run.
    var resolvedThreads: Int {
        max(1, threads ?? 1)
    }
    /// Local addresses that client sockets bind to, round-robin (empty = the kernel's choice).
    var sourceAddresses: [String] = []
    /// Pin the server's threads / this process to these CPUs (nil = unpinned).
    var pinServer: Int?
    var pinClient: Int?
    /// idle: seconds to wait after connecting before RSS is read.
    var settle: Double = 2
    /// Seconds to wait for outstanding acks / fan-out deliveries after the load stops.
    var drainTimeout: Double = 10
    /// fanout: the server the publisher (global client 0) connects to, when it is not the one the
    /// subscribers use (e.g. another node of a cluster); nil = the run's URL.
    var publisherURL: String?
    /// WebSocket scenarios: more servers for the clients (e.g. the nodes of a cluster). Client i
    /// connects to `[url] + alsoUrls` at i mod (1 + count); the fan-out publisher to `publisherURL`
    /// or the run's URL. Empty = every client on the run's URL.
    var alsoUrls: [String] = []

    init(scenario: Scenario) {
        self.scenario = scenario
        switch scenario {
        case .echo, .polling: self.rate = 2
        default: self.rate = 0
        }
    }
}

/// Where the server is: `http://host:port[/path/]` (ws:// works too; the path defaults to /socket.io/).
struct ServerURL: Codable, Sendable {
    var host: String
    var port: Int
    var path: String

    init(parsing text: String) throws {
        var rest = Substring(text)
        for scheme in ["http://", "ws://", "https://", "wss://"] where rest.hasPrefix(scheme) {
            if scheme.hasPrefix("https") || scheme.hasPrefix("wss") {
                throw BenchError.usage("TLS is not supported by hub-bench (\(text))")
            }
            rest = rest.dropFirst(scheme.count)
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        if path.isEmpty || path == "/" { path = "/socket.io/" }
        if !path.hasSuffix("/") { path += "/" }
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) else {
            throw BenchError.usage("--url needs host:port, e.g. http://127.0.0.1:3000 (got \(text))")
        }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { host = "127.0.0.1" }
        self.host = host
        self.port = port
        self.path = path
    }

    var description: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}

/// The figures of one run. Only the ones a scenario produces are set (and encoded).
struct Figures: Codable, Sendable {
    // every scenario
    var wallS: Double?
    var serverCores: Double?
    var clientCores: Double?
    var errors: Int?

    // connect (and the setup of the others)
    var connects: Int?
    var connectFailures: Int?
    var connectsPerS: Double?
    var connectP50Ms: Double?
    var connectP99Ms: Double?
    var connectMaxMs: Double?

    // idle
    var connections: Int?
    var serverRssBeforeKb: Int?
    var serverRssAfterKb: Int?
    var serverRssPerConnectionKb: Double?
    var serverIdleCpuPct: Double?
    var pingsAnswered: Int?

    // echo / polling
    var sent: Int?
    var acks: Int?
    var acksPerS: Double?
    var roundTrips: Int?
    var roundTripsPerS: Double?
    var rttP50Ms: Double?
    var rttP90Ms: Double?
    var rttP99Ms: Double?
    var rttMaxMs: Double?
    var skipped: Int?
    var unanswered: Int?

    // fanout
    var subscribers: Int?
    var published: Int?
    var deliveries: Int?
    var expectedDeliveries: Int?
    var deliveriesPerS: Double?
    var lost: Int?
    var outOfOrder: Int?
    var latencySamples: Int?
    var latencyP50Ms: Double?
    var latencyP99Ms: Double?
    var latencyMaxMs: Double?
    var serverCpuUsPerDelivery: Double?
    var clientCpuUsPerDelivery: Double?

    // echo / polling: CPU per round trip
    var serverCpuUsPerRoundTrip: Double?
    var clientCpuUsPerRoundTrip: Double?
}

/// One server process's share of a run with several `--server-pid`s.
struct ServerUsage: Codable, Sendable {
    var pid: Int32
    /// CPU seconds (utime + stime) during the measured phase.
    var cpuS: Double?
    var cores: Double?
    var rssBeforeKb: Int?
    var rssAfterKb: Int?
}

struct CPUShare: Codable, Sendable {
    /// Share of the machine's CPU time (online CPUs × wall time) each side used while measuring.
    var client: Double
    var server: Double?
}

/// What `run` returns and `--json` prints.
struct BenchResult: Codable, Sendable {
    struct Parameters: Codable, Sendable {
        var url: String
        var serverPid: Int32?
        /// Every `--server-pid` when more than one was given (CPU and RSS are summed over them).
        var serverPids: [Int32]?
        /// fanout: where the publisher connected, when `--publisher-url` was given.
        var publisherUrl: String?
        /// The other `--url`s the clients were spread over (client i on URL i mod count).
        var alsoUrls: [String]?
        var clients: Int
        var rate: Double
        var duration: Double
        var size: Int
        var window: Int?
        var sampleEvery: Int?
        var concurrency: Int
        var processes: Int
        var threadsPerProcess: Int
        var sourceAddresses: [String]
        var pinServer: Int?
        var pinClient: Int?
        var cpus: Int
        var cpuModel: String
    }

    var scenario: Scenario
    var parameters: Parameters
    var figures: Figures
    var clientCpuS: Double
    var serverCpuS: Double?
    var cpuShare: CPUShare
    /// Per server process, when more than one `--server-pid` was given.
    var servers: [ServerUsage]?

    func jsonString(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

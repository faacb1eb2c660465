import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
struct HubBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub-bench",
        abstract: "Load generator for Engine.IO v4 / Socket.IO v5 servers (RealtimeHub and its peers).",
        discussion: """
        Scenarios: connect, idle, echo, fanout, polling. The server must serve the bench handlers on "/"
        (bench:echo, bench:join, bench:publish), e.g. `hub serve --bench --port 3000`.
        See Docs/benchmarks.md.
        """,
        subcommands: [RunCommand.self, CompareCommand.self, SoakCommand.self, WorkerCommand.self]
    )
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one scenario against one server and print its figures.")

    @Option(help: "The server, http://host:port (path /socket.io/ unless given). Repeat it to spread the WebSocket clients over several servers (client i on URL i mod count; e.g. the nodes of a cluster).")
    var url: [String]
    @Option(help: "PID of the server, for its CPU time and RSS (/proc). Repeat it for several processes (e.g. the nodes of a cluster): their CPU and RSS are summed, and listed per process in --json (servers).")
    var serverPid: [Int32] = []
    @Option(help: "fanout: the server the publisher connects to (default: --url), e.g. another node of a cluster; the subscribers connect to --url.")
    var publisherUrl: String?
    @Flag(help: "Print exactly one JSON object.") var json = false
    @OptionGroup var options: RunOptions

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        var p = try options.parameters()
        p.publisherURL = publisherUrl
        guard let first = url.first else { throw ValidationError("--url is required") }
        p.alsoUrls = Array(url.dropFirst())
        let result: BenchResult
        do {
            result = try await BenchRunner.run(url: first, serverPIDs: serverPid, parameters: p)
        } catch BenchError.usage(let message) {
            throw ValidationError(message)
        } catch let error as BenchError {
            logErr("hub-bench: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(result.jsonString())
        } else {
            print(Report.table(result))
        }
    }
}

/// The scenario options shared by `run` and `compare` (everything but the server).
struct RunOptions: ParsableArguments {
    @Option(help: "connect | idle | echo | fanout | polling") var scenario: String
    @Option(help: "Clients (connections; in fanout the publisher is one of them).") var clients: Int = 100
    @Option(help: "echo/polling: round trips per second per client (default 2; 0 = closed loop). fanout: messages per second (default 0 = as fast as --window allows).")
    var rate: Double?
    @Option(help: "Seconds of load after setup (not used by connect).") var duration: Double = 10
    @Option(help: "Bytes of the echoed object / the published msg object.") var size: Int = 100
    @Option(help: "Worker processes (each has its own open-file limit).") var processes: Int = 1
    @Option(help: "Comma-separated local addresses to bind client sockets to, round-robin (e.g. 127.0.0.1,127.0.0.2).")
    var sourceAddresses: String?
    @Option(help: "Pin the server's threads to this CPU (needs --server-pid).") var pinServer: Int?
    @Option(help: "Pin hub-bench (and its workers) to this CPU.") var pinClient: Int?
    @Option(help: "fanout: messages in flight when no --rate is given.") var window: Int = 16
    @Option(help: "fanout: decode the latency of 1 message in N.") var sampleEvery: Int = 64
    @Option(help: "Handshakes in flight at once.") var concurrency: Int = 100
    @Option(help: "Event loops per process (default \(ScenarioParameters.defaultThreads)).") var threads: Int?
    @Option(help: "idle: seconds between connecting and reading the server's RSS.") var settle: Double = 2
    @Option(help: "Seconds to wait for outstanding acks / deliveries after the load stops (without progress).")
    var drainTimeout: Double = 10

    func parameters() throws -> ScenarioParameters {
        guard let s = Scenario(rawValue: scenario) else {
            throw ValidationError("unknown scenario '\(scenario)' (connect, idle, echo, fanout, polling)")
        }
        var p = ScenarioParameters(scenario: s)
        p.clients = clients
        if let rate { p.rate = rate }
        p.duration = duration
        p.size = size
        p.processes = processes
        p.sourceAddresses = (sourceAddresses ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        p.pinServer = pinServer
        p.pinClient = pinClient
        p.window = window
        p.sampleEvery = sampleEvery
        p.concurrency = concurrency
        p.threads = threads
        p.settle = settle
        p.drainTimeout = drainTimeout
        return p
    }
}

/// `hub-bench worker --spec JSON`: a child started by `run --processes K`; talks over its stdin/stdout.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", shouldDisplay: false)

    @Option var spec: String

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let code = await WorkerMain.run(specJSON: spec)
        if code != 0 { throw ExitCode(code) }
    }
}

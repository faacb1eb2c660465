import Foundation
import NIOCore
import NIOPosix

/// A throwaway `redis-server` for tests: on a free loopback port, no persistence
/// (`--save '' --appendonly no`), stopped by the test. `.ci/run` installs Debian's redis-server.
package final class RedisServerProcess: @unchecked Sendable {
    /// The port it listens on (kept across ``restart()``).
    package let port: Int
    private var process: Process?
    private var exited: TestGate?

    private init(port: Int) {
        self.port = port
    }

    /// `redis://127.0.0.1:<port>`.
    package var url: String { "redis://127.0.0.1:\(self.port)" }

    /// Starts a server on a free port and waits until it accepts connections.
    package static func start() async throws -> RedisServerProcess {
        let server = RedisServerProcess(port: try Self.freePort())
        try await server.launch()
        return server
    }

    /// Starts the server again on the same port (after ``kill()`` or ``stop()``).
    package func restart() async throws {
        try await self.launch()
    }

    /// Stops the server and waits for it to exit. (SIGKILL: the child inherits the test runner's
    /// blocked-signal mask, so SIGTERM would stay pending; nothing is persisted anyway.)
    package func stop() async {
        await self.terminate(signal: SIGKILL)
    }

    /// Kills the server with SIGKILL (as a crash) and waits for it to exit.
    package func kill() async {
        await self.terminate(signal: SIGKILL)
    }

    private func terminate(signal: Int32) async {
        guard let process = self.process, let exited = self.exited else { return }
        self.process = nil
        self.exited = nil
        Foundation.kill(process.processIdentifier, signal)
        await exited.wait()
    }

    private func launch() async throws {
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = ["--port", String(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exited = TestGate()
        process.terminationHandler = { _ in exited.open() }
        try process.run()
        self.process = process
        self.exited = exited
        // Wait until it accepts connections (a few ms usually); give up after 10 s.
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: self.port).get() {
                try? await channel.close()
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw RedisServerProcessError("redis-server did not start on port \(self.port)")
    }

    private static func executable() throws -> URL {
        for path in ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        throw RedisServerProcessError("redis-server is not installed (apt-get install -y redis-server)")
    }

    /// A port the kernel just gave out for loopback (bound, then released).
    private static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress!.port!
    }

    deinit {
        if let process, process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
    }
}

/// Why the test Redis could not run.
package struct RedisServerProcessError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

import EngineIO
import Logging
import NIOCore
import ServiceLifecycle

/// Runs an ``HTTPServer`` under swift-service-lifecycle: listens, waits for graceful shutdown
/// (SIGINT/SIGTERM), then drains within `shutdownTimeout` (Docs/reliability.md, "Graceful drain"):
///
/// 1. stop accepting: new connections are refused by the OS, and handshakes still arriving on open
///    keep-alive connections get 503 "Server shutting down";
/// 2. every engine drains: WebSocket sessions get their queued frames then the close frame, polling
///    sessions their buffered packets then a close packet on the parked or next GET, so clients see
///    "transport close" and reconnect; Socket.IO keeps their recovery sessions as for any transport
///    close;
/// 3. the HTTP connections finish what they are answering and close;
///
/// whatever is still open when the timeout is close to expiry is cut off, and `run()` returns.
struct HTTPServerService: Service {
    let server: HTTPServer
    let engines: [EngineServer]
    let logger: Logger
    var shutdownTimeout: TimeAmount = .seconds(10)

    func run() async throws {
        try await self.server.start()
        try? await gracefulShutdown()
        let start = NIODeadline.now()
        let deadline = start + self.shutdownTimeout
        // Leave the last part of the timeout for close frames and last answers to go out.
        let grace = TimeAmount.nanoseconds(min(1_000_000_000, self.shutdownTimeout.nanoseconds / 4))
        let sessions = self.engines.reduce(0) { $0 + $1.sessionCount }
        self.logger.info("shutting down: draining", metadata: ["sessions": "\(sessions)", "timeout_ms": "\(self.shutdownTimeout.nanoseconds / 1_000_000)"])
        await self.server.stopAccepting()
        var graceful = true
        for engine in self.engines {
            graceful = await engine.drain(until: deadline - grace) && graceful
        }
        graceful = await self.server.closeConnections(until: deadline) && graceful
        let elapsed = (NIODeadline.now() - start).nanoseconds / 1_000_000
        self.logger.info("drained", metadata: ["graceful": "\(graceful)", "elapsed_ms": "\(elapsed)"])
    }
}

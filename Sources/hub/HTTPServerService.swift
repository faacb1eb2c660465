import EngineIO
import Logging
import ServiceLifecycle

/// Runs an ``HTTPServer`` under swift-service-lifecycle: listens, waits for graceful shutdown
/// (SIGINT/SIGTERM), then stops accepting and closes every engine session.
struct HTTPServerService: Service {
    let server: HTTPServer
    let engines: [EngineServer]
    let logger: Logger

    func run() async throws {
        try await self.server.start()
        try? await gracefulShutdown()
        self.logger.info("shutting down")
        await self.server.stopAccepting()
        for engine in self.engines {
            engine.closeAllSessions()
        }
        // Give the close frames and final poll answers a moment to reach the clients.
        try? await Task.sleep(for: .milliseconds(100))
    }
}

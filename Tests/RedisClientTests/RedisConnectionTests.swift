import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RedisClient
import TestSupport
import Testing

/// ``RedisConnection`` against a real redis-server on a free loopback port.
@Suite("Redis connection (real server)")
struct RedisConnectionTests {
    func withRedis(_ body: (RedisServerProcess, RedisConnection) async throws -> Void) async throws {
        let server = try await RedisServerProcess.start()
        var configuration = RedisConnection.Configuration(url: try RedisURL(server.url))
        configuration.reconnect = RedisBackoff(initialDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        let connection = RedisConnection(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        connection.start()
        do {
            try await body(server, connection)
        } catch {
            try? await connection.close()
            await server.stop()
            throw error
        }
        try? await connection.close()
        await server.stop()
    }

    /// Waits for the next `.connected` event after `trigger` runs.
    func connectedEvents(_ connection: RedisConnection) -> TestAsyncQueue<String> {
        let events = TestAsyncQueue<String>()
        connection.onStateChange { event in
            switch event {
            case .connected: events.push("connected")
            case .disconnected: events.push("disconnected")
            }
        }
        return events
    }

    @Test func commandsAndErrorReplies() async throws {
        try await self.withRedis { _, redis in
            let reply1 = try await redis.send("SET", "k", "v")
            #expect(reply1 == .simpleString("OK"))
            let reply2 = try await redis.send("GET", "k")
            #expect(reply2 == .bulk("v"))
            let reply3 = try await redis.send("GET", "missing")
            #expect(reply3.isNull)
            let reply4 = try await redis.send("INCRBY", "n", 5)
            #expect(reply4 == .integer(5))
            let reply5 = try await redis.send("RPUSH", "l", "a", "b")
            #expect(reply5.int == 2)
            let reply6 = try await redis.send("LRANGE", "l", 0, -1)
            #expect(reply6 == .array([.bulk("a"), .bulk("b")]))
            await #expect(throws: RedisServerError.self) { try await redis.send("INCR", "l") }
            // The error did not disturb the connection.
            let reply7 = try await redis.send("PING")
            #expect(reply7 == .simpleString("PONG"))
        }
    }

    @Test func pipelinesManyCommandsInOrder() async throws {
        try await self.withRedis { _, redis in
            let futures = (0..<2000).map { index in
                redis.send(command: index % 2 == 0 ? "INCR" : "GET", arguments: ["counter"])
            }
            let replies = try await EventLoopFuture.whenAllSucceed(futures, on: redis.eventLoop).get()
            for (index, reply) in replies.enumerated() {
                #expect(reply.int == Int64(index / 2 + 1), "reply \(index)")
            }
        }
    }

    @Test func streamsCommands() async throws {
        try await self.withRedis { _, redis in
            for index in 0..<20 {
                _ = try await redis.send("XADD", "s", "MAXLEN", "~", "5", "*", "n", .bulk(String(index)))
            }
            let length = try await redis.send("XLEN", "s").int ?? 0
            #expect(length >= 5 && length <= 20)
            let range = try await redis.send("XRANGE", "s", "-", "+").array ?? []
            #expect(range.count == Int(length))
            #expect(range.last?.array?[1] == .array([.bulk("n"), .bulk("19")]))
            let lastID = range.last!.array![0].string!
            // XREAD BLOCK on a second connection returns as soon as an entry arrives.
            let reader = RedisConnection(configuration: redis.configuration, eventLoop: redis.eventLoop)
            reader.start()
            _ = try await reader.send("PING")
            // An explicit id (not `$`): an entry added before the server sees the XREAD still counts.
            let read = reader.send(command: "XREAD", arguments: ["BLOCK", "5000", "STREAMS", "s", .bulk(lastID)])
            _ = try await redis.send("XADD", "s", "*", "n", "new")
            let reply = try await read.get()
            let entries = reply.array?.first?.array?[1].array
            #expect(entries?.count == 1)
            #expect(entries?.first?.array?[1] == .array([.bulk("n"), .bulk("new")]))
            try await reader.close()
        }
    }

    @Test func selectsTheDatabaseAndAuthenticates() async throws {
        try await self.withRedis { server, redis in
            _ = try await redis.send("CONFIG", "SET", "requirepass", "s3cret")
            _ = try await redis.send("AUTH", "s3cret")
            let other = RedisConnection(configuration: .init(url: try RedisURL(server.url.replacingOccurrences(of: "redis://", with: "redis://:s3cret@") + "/2")),
                                        eventLoop: redis.eventLoop)
            other.start()
            _ = try await other.send("SET", "where", "db2")
            let reply8 = try await redis.send("GET", "where")
            #expect(reply8.isNull, "db 0 does not see db 2's key")
            _ = try await redis.send("SELECT", 2)
            let reply9 = try await redis.send("GET", "where")
            #expect(reply9 == .bulk("db2"))
            try await other.close()
        }
    }

    @Test func reconnectsAfterTheServerRestarts() async throws {
        try await self.withRedis { server, redis in
            let events = self.connectedEvents(redis)
            _ = try await redis.send("SET", "k", "v")
            // A command waiting on the server when it dies fails as connectionLost.
            let blocked = redis.send(command: "BLPOP", arguments: ["never", "0"])
            try await redis.eventLoop.submit {}.get()  // the send's hop ran: BLPOP is written
            await server.kill()
            await #expect(throws: RedisClientError.connectionLost) { try await blocked.get() }
            while try await events.next("the loss") != "disconnected" {}
            // While it waits to reconnect, commands fail at once instead of piling up.
            await #expect(throws: RedisClientError.self) { try await redis.send("PING") }
            try await server.restart()
            while true {
                if try await events.next("reconnect") == "connected" { break }
            }
            let reply12 = try await redis.send("PING")
            #expect(reply12 == .simpleString("PONG"))
            let reply13 = try await redis.send("GET", "k")
            #expect(reply13.isNull, "a fresh server (no persistence)")
        }
    }

    @Test func closeFailsWhatIsPending() async throws {
        let connection = RedisConnection(configuration: .init(url: RedisURL(host: "127.0.0.1", port: 1)),
                                         eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let queued = connection.send(command: "PING", arguments: [])
        try await connection.close()
        await #expect(throws: RedisClientError.closed) { try await queued.get() }
        await #expect(throws: RedisClientError.closed) { try await connection.send("PING") }
    }
}

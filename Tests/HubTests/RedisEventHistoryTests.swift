import Logging
import NIOCore
import NIOPosix
import RedisClient
import SocketIO
import Testing
import TestSupport

@testable import Hub

/// Room history in Redis Streams, against a real redis-server on a loopback port.
@Suite("Room history in Redis")
struct RedisEventHistoryTests {
    func event(_ n: Int, room: String = "ops") -> HubEvent {
        HubEvent(type: "task_updated", namespace: "/monitoring", room: room, data: ["n": .number(Double(n))], source: "test")
    }

    /// Runs `body` with two histories (two nodes) on their own connections to one fresh Redis.
    func withHistories(capacity: Int, _ body: (RedisEventHistory, RedisEventHistory) async throws -> Void) async throws {
        let server = try await RedisServerProcess.start()
        let group = MultiThreadedEventLoopGroup.singleton
        let configuration = RedisConnection.Configuration(url: try RedisURL(server.url))
        let connections = [RedisConnection(configuration: configuration, eventLoop: group.next()),
                           RedisConnection(configuration: configuration, eventLoop: group.next())]
        for connection in connections {
            connection.start()
        }
        let histories = connections.map { RedisEventHistory(connection: $0, capacityPerRoom: capacity, keyPrefix: "hub") }
        do {
            try await body(histories[0], histories[1])
        } catch {
            for connection in connections { try? await connection.close() }
            await server.kill()
            throw error
        }
        for connection in connections { try await connection.close() }
        await server.kill()
    }

    @Test func offsetsAreSharedAndReadsMatchTheInMemoryHistory() async throws {
        try await self.withHistories(capacity: 3) { a, b in
            #expect(try await a.latestOffset(namespace: "/monitoring", room: "ops").get() == 0)
            #expect(try await a.events(namespace: "/monitoring", room: "ops").get().isEmpty)
            var memory = RoomHistory(capacity: 3)
            for n in 1...5 {
                let node = n % 2 == 0 ? a : b
                let sent = self.event(n)
                let stored = try await node.append(sent).get()
                #expect(stored.offset == UInt64(n))
                #expect(stored.id == sent.id)
                memory.append(sent)
            }
            #expect(try await b.latestOffset(namespace: "/monitoring", room: "ops").get() == 5)
            for since in [0, 1, 2, 3, 4, 5, 9] as [UInt64] {
                for limit in [1, 2, 3, 100] {
                    let shared = try await a.events(namespace: "/monitoring", room: "ops", since: since, limit: limit).get()
                    let local = memory.events(after: since, limit: limit)
                    #expect(shared.map(\.offset) == local.map(\.offset), "since \(since) limit \(limit)")
                    #expect(shared.map(\.id) == local.map(\.id))
                }
            }
            let newest = try await b.events(namespace: "/monitoring", room: "ops", since: 4).get()
            #expect(newest.map { $0.data["n"]?.intValue } == [5])
            #expect(newest.first?.source == "test")
            // Another room (and namespace) has its own offsets.
            #expect(try await a.append(self.event(1, room: "other")).get().offset == 1)
        }
    }
}

import NIOCore
import NIOPosix
import RedisClient
import TestSupport
import Testing

/// ``RedisSubscriber`` against a real redis-server.
@Suite("Redis subscriber (real server)")
struct RedisSubscriberTests {
    @Test func subscribePatternUnsubscribeAndResubscribeAfterRestart() async throws {
        let server = try await RedisServerProcess.start()
        defer { Task { await server.stop() } }
        var configuration = RedisConnection.Configuration(url: try RedisURL(server.url))
        configuration.reconnect = RedisBackoff(initialDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let publisher = RedisConnection(configuration: configuration, eventLoop: loop)
        let subscriber = RedisSubscriber(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        publisher.start()
        subscriber.start()
        let received = TestAsyncQueue<String>()
        let states = TestAsyncQueue<String>()
        subscriber.onStateChange { event in
            if case .connected = event { states.push("connected") } else { states.push("disconnected") }
        }
        let publisherStates = TestAsyncQueue<String>()
        publisher.onStateChange { event in
            if case .connected = event { publisherStates.push("connected") } else { publisherStates.push("disconnected") }
        }
        let expectedLoop = subscriber.eventLoop
        try await subscriber.subscribe(["news"]) { message in
            expectedLoop.preconditionInEventLoop()
            received.push("\(message.channel):\(String(buffer: message.payload))")
        }.get()
        try await subscriber.psubscribe(["room.*"]) { message in
            received.push("\(message.pattern ?? "-")>\(message.channel):\(String(buffer: message.payload))")
        }.get()
        let delivered = try await publisher.send("PUBLISH", "news", "hello")
        #expect(delivered == .integer(1))
        _ = try await publisher.send("PUBLISH", "room.1", "hi")
        let first = try await received.next(2, "messages")
        #expect(first == ["news:hello", "room.*>room.1:hi"])

        try await subscriber.unsubscribe(["news"]).get()
        _ = try await publisher.send("PUBLISH", "news", "unheard")
        _ = try await publisher.send("PUBLISH", "room.2", "marker")
        let marker = try await received.next("marker")
        #expect(marker == "room.*>room.2:marker", "nothing from the unsubscribed channel")

        // The server goes away and comes back: the subscriber subscribes again by itself.
        let again: RedisSubscriber.MessageHandler = { message in received.push("again:\(String(buffer: message.payload))") }
        try await subscriber.subscribe(["news"], again).get()
        await server.kill()
        while try await states.next("loss") != "disconnected" {}
        try await server.restart()
        while try await states.next("reconnect") != "connected" {}
        while try await publisherStates.next("publisher loss") != "disconnected" {}
        while try await publisherStates.next("publisher reconnect") != "connected" {}
        // Subscribing to a wanted channel waits for Redis to confirm the re-subscription.
        try await subscriber.subscribe(["news"], again).get()
        _ = try await publisher.send("PUBLISH", "news", "back")
        let back = try await received.next("after restart")
        #expect(back == "again:back")
        try await publisher.close()
        try await subscriber.close().get()
    }
}

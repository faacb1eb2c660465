import EngineIO
import NIOCore
import SocketIO
import TestSupport
import Testing

/// The per-connection outbound bound over real sockets: a client that stops reading is closed with
/// "transport buffer full" once more than `maxBufferedBytes` wait for it, the engine counts it, and
/// the other clients of the broadcast keep receiving.
@Suite("Socket.IO server: slow consumers")
struct SlowConsumerTests {
    @Test func aClientThatStopsReadingIsDisconnectedAndCountedWhileOthersKeepReceiving() async throws {
        try await withSocketIOServer(threads: 2, { $0.engine.maxBufferedBytes = 64 * 1024 }) { server in
            let disconnects = TestAsyncQueue<String>()
            server.io.onConnection { socket in
                socket.onDisconnect { reason in disconnects.push("\(socket.id) \(reason)") }
            }
            let (reader, _) = try await server.connectedClient()
            let (stalled, stalledSID) = try await server.connectedClient()
            // The stalled client stops reading: the kernel buffers fill, then the server's queue.
            try await stalled.webSocket.channel.setOption(.autoRead, value: false).get()

            let pad = JSONValue.string(String(repeating: "p", count: 16 * 1024))
            var sent = 0
            var reason: String?
            // Well past what loopback socket buffers hold; the reader keeps up batch by batch.
            while reason == nil, sent < 4000 {
                for _ in 0..<20 {
                    server.io.emit("load", .number(Double(sent)), pad)
                    sent += 1
                }
                for index in (sent - 20)..<sent {
                    let received = try await reader.expectEvent("load")
                    #expect(received.first == .number(Double(index)))
                }
                if !disconnects.isEmpty {
                    reason = try await disconnects.next("the stalled socket's disconnect")
                }
            }
            #expect(reason == "\(stalledSID) transport buffer full")
            #expect(server.io.engine.bufferFullCloses == 1)
            #expect(server.io.engine.volatileDrops == 0)

            // The reader still receives, including volatile emits (its transport is writable).
            server.io.emit("after", .string("still here"))
            #expect(try await reader.expectEvent("after") == [.string("still here")])
            server.io.sockets.volatile.emit("after", .string("volatile"))
            #expect(try await reader.expectEvent("after") == [.string("volatile")])
            #expect(server.io.engine.bufferFullCloses == 1)
        }
    }
}

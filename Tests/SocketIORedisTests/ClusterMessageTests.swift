import NIOCore
import RedisClient
import SocketIO
@testable import SocketIORedis
import Testing

/// Cluster stream entries: every kind round-trips through its XADD fields; damaged entries are refused.
@Suite("Cluster stream messages")
struct ClusterMessageTests {
    static let options = BroadcastOptions(rooms: ["a", "b"], except: ["x"], volatile: true)

    @Test(arguments: [
        ClusterMessage.Body.broadcast(SocketPacket(type: .event, namespace: "/chat", data: ["news", 1, ["k": "v"]]), options, token: "t1"),
        .broadcast(SocketPacket(type: .event, namespace: "/", data: ["bin", .binary(ByteBuffer(bytes: [0, 1, 255]))]), BroadcastOptions(), token: nil),
        .sessionPersisted(["sid": "s", "pid": "p", "rooms": ["r"], "at": 1]),
        .sessionTaken(privateID: "p", seen: nil),
        .sessionTaken(privateID: "p", seen: StreamID(milliseconds: 1_700_000_000_000, sequence: 3)),
        .addSockets(options, rooms: ["r1", "r2"], token: "t2"),
        .delSockets(BroadcastOptions(), rooms: ["r1"], token: nil),
        .disconnectSockets(options, close: true, token: "t3"),
        .serverSideEmit(event: "ping", arguments: [1, "two", nil]),
    ])
    func roundTrip(_ body: ClusterMessage.Body) throws {
        let namespace = if case .broadcast(let packet, _, _) = body { packet.namespace } else { "/chat" }
        let message = ClusterMessage(origin: "node1", namespace: namespace, body: body)
        let decoded = try #require(ClusterMessage(fields: message.fields))
        #expect(decoded == message)
    }

    @Test func broadcastFieldsAreTheWireTextAndOptions() {
        let message = ClusterMessage(origin: "n", namespace: "/", body: .broadcast(
            SocketPacket(type: .event, namespace: "/", data: ["e", 1]), BroadcastOptions(rooms: ["r"]), token: nil))
        #expect(message.fields == ["u", "n", "n", "/", "t", "b", "p", #"2["e",1]"#, "o", #"{"r":["r"],"e":[]}"#])
    }

    @Test(arguments: [
        [RESPValue]([]),
        ["u", "n", "n"],                                        // odd
        ["u", "n", "n", "/", "t", "?"],                         // unknown kind
        ["u", "n", "n", "/", "t", "b", "p", "2[\"e\"]"],        // no options
        ["u", "n", "n", "/", "t", "b", "p", "not a packet", "o", #"{"r":[],"e":[]}"#],
        ["u", "n", "n", "/", "t", "e", "e", "x", "d", "{"],     // bad JSON
        ["n", "/", "t", "x", "i", "p"],                         // no origin
    ])
    func damagedEntriesAreRefused(_ fields: [RESPValue]) {
        #expect(ClusterMessage(fields: fields) == nil)
    }

    @Test func streamIDsOrderLikeRedis() {
        #expect(StreamID("1-2") == StreamID(milliseconds: 1, sequence: 2))
        #expect(StreamID("5") == StreamID(milliseconds: 5, sequence: 0))
        #expect(StreamID("1-2")! < StreamID("1-10")!)
        #expect(StreamID("2-0")! > StreamID("1-99")!)
        #expect(StreamID("x") == nil)
        #expect(StreamID("1-") == nil)
        #expect(StreamID("1-2")!.description == "1-2")
    }
}

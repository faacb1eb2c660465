// Micro-benchmarks of one packet's hot path, through the public API of EngineIO and SocketIO:
// the Engine.IO packet and polling-payload codec, the Socket.IO packet codec (with binary
// attachments), and a broadcast's encode + WebSocket frame build. Every benchmark reports wall
// clock, CPU and malloc counts per operation (one operation per iteration).
//
//     cd Benchmarks && swift package benchmark
import Benchmark
import EngineIO
import NIOCore
import NIOEmbedded
import NIOWebSocket
import SocketIO

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 100,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    let allocator = ByteBufferAllocator()

    // What the harness itself costs per iteration (its malloc count is the floor of every other row).
    Benchmark("Baseline: empty iteration") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(0)
        }
    }

    // The fan-out message of hub-bench: {"seq":n,"t":ms,"pad":"x…"}, about 100 bytes.
    let msg: JSONValue = ["seq": 12345, "t": 1_790_000_000_000.123, "pad": .string(String(repeating: "x", count: 55))]
    let publishText = #"2["bench:publish","bench",{"seq":12345,"t":1790000000000.123,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]"#
    // publishText is the Socket.IO packet (type 2 = EVENT); engineText the Engine.IO message carrying it.
    let engineText = "4" + publishText

    // MARK: Engine.IO

    Benchmark("EngineIO decode text message (120 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try EngineCodec.decode(text: engineText))
        }
    }

    let binaryMessage = allocator.buffer(bytes: [UInt8](repeating: 7, count: 1024))
    Benchmark("EngineIO decode binary message (1 KiB)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(EngineCodec.decode(binary: binaryMessage))
        }
    }

    Benchmark("EngineIO encode text message (120 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(EngineCodec.encode(.message(.text(publishText)), allocator: allocator))
        }
    }

    // A polling body of 10 packets: 8 text messages, a ping answer and a binary one ("b" + base64).
    var payloadPackets = (0..<8).map { _ in EngineCodec.encode(.message(.text(publishText)), allocator: allocator) }
    payloadPackets.append(EngineCodec.encode(.pong(""), allocator: allocator))
    payloadPackets.append(EncodedPacket(kind: .binary, bytes: allocator.buffer(bytes: [UInt8](repeating: 1, count: 256))))
    var payloadBody = allocator.buffer(capacity: 2048)
    EngineCodec.writePayload(payloadPackets, into: &payloadBody)
    let pollingBody = payloadBody

    Benchmark("EngineIO encode polling payload (10 packets)") { benchmark in
        var buffer = allocator.buffer(capacity: 4096)
        for _ in benchmark.scaledIterations {
            buffer.clear()
            EngineCodec.writePayload(payloadPackets, into: &buffer)
            blackHole(buffer)
        }
    }

    Benchmark("EngineIO decode polling payload (10 packets)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try EngineCodec.decodePayload(pollingBody))
        }
    }

    // MARK: Socket.IO

    let event = SocketPacket(type: .event, data: ["bench:msg", msg])
    Benchmark("SocketIO encode event (bench:msg, 100 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(SocketPacketEncoder.encode(event, allocator: allocator))
        }
    }

    Benchmark("SocketIO decode event (bench:publish, 120 B)") { benchmark in
        var decoder = SocketPacketDecoder()
        for _ in benchmark.scaledIterations {
            blackHole(try decoder.decode(text: publishText))
        }
    }

    let attachment = allocator.buffer(bytes: [UInt8](repeating: 0xAB, count: 1024))
    let binaryEvent = SocketPacket(type: .binaryEvent, id: 7,
                                   data: ["upload", ["name": "a.bin", "part": .binary(attachment)], .binary(attachment)])
    Benchmark("SocketIO encode binary event (2 × 1 KiB attachments)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(SocketPacketEncoder.encode(binaryEvent, allocator: allocator))
        }
    }

    let (binaryHeader, attachments) = SocketPacketEncoder.encodeText(binaryEvent)
    Benchmark("SocketIO decode binary event (2 × 1 KiB attachments)") { benchmark in
        var decoder = SocketPacketDecoder()
        for _ in benchmark.scaledIterations {
            _ = try decoder.decode(text: binaryHeader)
            var packet: SocketPacket?
            for a in attachments { packet = try decoder.decode(binary: a) }
            blackHole(packet)
        }
    }

    // MARK: Broadcast: encode once, then a WebSocket frame per recipient (NIO's frame encoder, as
    // the hub's WebSocket transport writes them today).

    Benchmark("Broadcast encode + WebSocket frame, 1 recipient") { benchmark in
        let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
        for _ in benchmark.scaledIterations {
            let encoded = SocketPacketEncoder.encode(event, allocator: allocator)
            for packet in encoded {
                try channel.writeOutbound(WebSocketFrame(fin: true, opcode: packet.kind == .text ? .text : .binary,
                                                         data: packet.bytes))
            }
            while let out = try channel.readOutbound(as: IOData.self) { blackHole(out) }
        }
        _ = try? channel.finish()
    }

    Benchmark("Broadcast encode once + 1000 WebSocket frames",
              configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
                                   warmupIterations: 5, maxDuration: .seconds(2), maxIterations: 10_000)) { benchmark in
        let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
        for _ in benchmark.scaledIterations {
            let encoded = SocketPacketEncoder.encode(event, allocator: allocator)
            for _ in 0..<1000 {
                for packet in encoded {
                    try channel.writeOutbound(WebSocketFrame(fin: true, opcode: packet.kind == .text ? .text : .binary,
                                                             data: packet.bytes))
                }
                while let out = try channel.readOutbound(as: IOData.self) { blackHole(out) }
            }
        }
        _ = try? channel.finish()
    }
}

import EngineIO
import NIOCore
import SocketIO
import Testing
import Foundation

@Suite struct ZZTemporaryCodecBench {
    func measure(_ name: String, _ n: Int = 300_000, _ body: () throws -> Void) rethrows {
        for _ in 0..<1000 { try body() }
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<n { try body() }
        let d = clock.now - start
        let ns = Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
        print("BENCH \(name): \(Int(ns / Double(n))) ns/op")
    }

    @Test func bench() throws {
        guard ProcessInfo.processInfo.environment["CODEC_BENCH"] != nil else { return }
        let wire = #"42["chat","hello world",{"from":"alice","n":1}]"#
        var decoder = SocketPacketDecoder()
        try measure("engine+socket decode small event") {
            guard case .message(.text(let t)) = try EngineCodec.decode(text: wire) else { fatalError() }
            _ = try decoder.decode(text: t)
        }
        let inner = String(wire.dropFirst())
        try measure("socket decode small event") { _ = try decoder.decode(text: inner) }
        let packet = SocketPacket(type: .event, namespace: "/", data: ["chat", "hello world", ["from": "alice", "n": 1]])
        let alloc = ByteBufferAllocator()
        measure("socket encode small event") { _ = SocketPacketEncoder.encode(packet, allocator: alloc) }
        let floats = SocketPacket(type: .event, data: ["m", 0.1, 3.14159, 1e-9, 12345.678])
        measure("socket encode floats") { _ = SocketPacketEncoder.encode(floats, allocator: alloc) }
        let esc = #"2["m","line\nbreak \"q\" \u00e9\ud83d\ude00",1.5,-0.25]"#
        try measure("socket decode escapes+floats") { _ = try decoder.decode(text: esc) }
        let big = (0..<50).map { #"{"id":\#($0),"name":"user\#($0)","score":\#($0).5,"tags":["a","b"],"ok":true}"# }.joined(separator: ",")
        let bigText = "[" + big + "]"
        try measure("json parse 50 objects (\(bigText.utf8.count) bytes)", 20_000) { _ = try JSONValue.parse(bigText) }
        let bigValue = try JSONValue.parse(bigText)
        measure("json write 50 objects", 20_000) { var b = ByteBuffer(); b.reserveCapacity(4096); bigValue.write(into: &b) }
        let bin = SocketPacket(type: .event, data: ["up", .binary(ByteBuffer(bytes: [1, 2, 3]))])
        measure("socket encode binary event") { _ = SocketPacketEncoder.encode(bin, allocator: alloc) }
        let payload = ByteBuffer(string: "4hello\u{1e}2\u{1e}bAQIDBA==")
        try measure("engine decodePayload 3 packets") { _ = try EngineCodec.decodePayload(payload) }
    }
}

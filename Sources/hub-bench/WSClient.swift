import NIOCore
import NIOWebSocket

/// One Socket.IO client over a raw WebSocket. It is the only handler in its pipeline: it writes the
/// upgrade request itself, parses frames straight out of the read buffer (a read that holds many
/// frames is handled in one pass), and decodes only what a figure needs.
final class WSClient: ChannelInboundHandler, EchoSender, @unchecked Sendable {  // loop-confined
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case http        // upgrade request sent
        case engineOpen  // waiting for the Engine.IO open packet
        case connecting  // "40" sent
        case joining     // fanout: bench:join sent
        case ready
        case closed
    }

    let shard: Shard
    let globalIndex: Int
    let isPublisher: Bool
    private var ready: EventLoopPromise<Void>?
    private let startNanos: UInt64
    private(set) var state = State.http
    private var context: ChannelHandlerContext?
    var channel: Channel? { context?.channel }
    /// Bytes of an incomplete frame (or HTTP response) carried over to the next read.
    private var pending: ByteBuffer?
    /// A fragmented text message being reassembled (rare: servers send small messages whole).
    private var fragments: ByteBuffer?
    private let mask = WebSocketMaskingKey.random()

    // echo
    private var nextAckID: UInt64 = 1
    private(set) var outstanding = 0
    private var sendTimes: [UInt64] = []
    static let maxOutstanding = 64

    // fanout
    private(set) var received = 0
    private var expectedSeq: UInt64 = 0

    init(shard: Shard, globalIndex: Int, isPublisher: Bool, ready: EventLoopPromise<Void>, startNanos: UInt64) {
        self.shard = shard
        self.globalIndex = globalIndex
        self.isPublisher = isPublisher
        self.ready = ready
        self.startNanos = startNanos
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        shard.wsClients.append(self)
        if shard.config.parameters.scenario == .echo { shard.echoSenders.append(self) }
        let handshakeTimeout = context.eventLoop.scheduleTask(in: .seconds(30)) { [self] in
            if self.state != .ready && self.state != .closed {
                self.fail(BenchError.protocolError("handshake timed out"))
            }
        }
        ready?.futureResult.whenComplete { _ in handshakeTimeout.cancel() }
    }

    func channelActive(context: ChannelHandlerContext) {
        let config = shard.config
        let upgrade = isPublisher ? config.publisherUpgradeRequest
            : config.clientTargets[globalIndex % config.clientTargets.count].upgrade
        context.writeAndFlush(wrapOutboundOut(upgrade), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if state == .ready && !shard.shuttingDown { shard.errors += 1 }
        if state != .ready { fail(BenchError.protocolError("connection closed during the handshake")) }
        state = .closed
        shard.publisher?.clientClosed(self)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if state == .ready && !shard.shuttingDown { shard.errors += 1 }
        fail(error)
        context.close(promise: nil)
    }

    private func fail(_ error: Error) {
        if let ready {
            self.ready = nil
            ready.fail(error)
            context?.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var carried = pending {
            pending = nil
            carried.writeBuffer(&buffer)
            process(&carried)
            if carried.readableBytes > 0 {
                carried.discardReadBytes()
                pending = carried
            }
        } else {
            process(&buffer)
            if buffer.readableBytes > 0 {
                var carried = context.channel.allocator.buffer(capacity: max(buffer.readableBytes, 512))
                carried.writeBuffer(&buffer)
                pending = carried
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if shard.deliveries > 0 && shard.lastDeliveryDirty {
            shard.lastDeliveryDirty = false
            shard.lastDeliveryNanos = monotonicNanos()
        }
    }

    // MARK: parsing

    /// Consumes every complete HTTP response / frame in `buffer`.
    private func process(_ buffer: inout ByteBuffer) {
        if state == .http {
            let done: Int? = buffer.withUnsafeReadableBytes { raw in
                guard let end = raw.find("\r\n\r\n") else { return nil }
                return end + 4
            }
            guard let headerLength = done else {
                if buffer.readableBytes > 16_384 { fail(BenchError.protocolError("oversized HTTP response")) }
                return
            }
            let ok = buffer.withUnsafeReadableBytes { $0.matches("HTTP/1.1 101", at: 0) }
            buffer.moveReaderIndex(forwardBy: headerLength)
            guard ok else {
                fail(BenchError.protocolError("WebSocket upgrade refused"))
                return
            }
            state = .engineOpen
        }
        while buffer.readableBytes >= 2 && state != .closed {
            let consumed = buffer.withUnsafeReadableBytes { raw -> Int in
                self.parseFrames(raw)
            }
            if consumed == 0 { return }
            buffer.moveReaderIndex(forwardBy: consumed)
        }
    }

    /// Handles the complete frames at the start of `raw`; returns the bytes consumed.
    private func parseFrames(_ raw: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        let count = raw.count
        while count - offset >= 2 {
            let b0 = raw[offset]
            let b1 = raw[offset + 1]
            var length = Int(b1 & 0x7F)
            var header = 2
            if length == 126 {
                guard count - offset >= 4 else { break }
                length = Int(raw[offset + 2]) << 8 | Int(raw[offset + 3])
                header = 4
            } else if length == 127 {
                guard count - offset >= 10 else { break }
                var l: UInt64 = 0
                for k in 0..<8 { l = l << 8 | UInt64(raw[offset + 2 + k]) }
                guard l < UInt64(Int32.max) else {
                    fail(BenchError.protocolError("frame too large"))
                    return count
                }
                length = Int(l)
                header = 10
            }
            let masked = b1 & 0x80 != 0
            if masked { header += 4 }
            guard count - offset >= header + length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: raw[(offset + header)..<(offset + header + length)])
            let fin = b0 & 0x80 != 0
            let opcode = b0 & 0x0F
            if masked {
                // Servers do not mask; unmask a copy if one does.
                var copy = ByteBufferAllocator().buffer(bytes: payload)
                let key = WebSocketMaskingKey(Array(raw[(offset + header - 4)..<(offset + header)]))!
                copy.webSocketUnmask(key)
                copy.withUnsafeReadableBytes { self.frame(opcode: opcode, fin: fin, payload: $0) }
            } else {
                frame(opcode: opcode, fin: fin, payload: payload)
            }
            offset += header + length
            if state == .closed { return count }
        }
        return offset
    }

    private func frame(opcode: UInt8, fin: Bool, payload: UnsafeRawBufferPointer) {
        switch opcode {
        case 0x1 where fin:
            engine(payload)
        case 0x1, 0x0:
            if opcode == 0x1 { fragments = ByteBufferAllocator().buffer(capacity: payload.count * 2) }
            fragments?.writeBytes(payload)
            if fin, let whole = fragments {
                fragments = nil
                whole.withUnsafeReadableBytes { engine($0) }
            }
        case 0x9:  // ping → pong with the same payload
            writeFrame(opcode: 0xA) { $0.writeBytes(payload) }
        case 0x8:
            state = .closed
            context?.close(promise: nil)
        default:
            break  // binary (attachments) and pong: not used by the bench handlers
        }
    }

    /// One Engine.IO packet.
    private func engine(_ p: UnsafeRawBufferPointer) {
        guard p.count > 0 else { return }
        switch p[0] {
        case ASCII.four:
            socket(p)
        case ASCII.two:  // ping → pong
            shard.pings += 1
            writeText { $0.writeInteger(ASCII.three) }
        case ASCII.zero:  // open → Socket.IO CONNECT to "/"
            guard state == .engineOpen else { return }
            state = .connecting
            writeText { $0.writeStaticString("40") }
        case ASCII.one:
            state = .closed
            context?.close(promise: nil)
        default:
            break
        }
    }

    /// One Socket.IO packet ("4" + type + …).
    @inline(__always)
    private func socket(_ p: UnsafeRawBufferPointer) {
        guard p.count >= 2 else { return }
        switch p[1] {
        case ASCII.two:
            if state == .ready { event(p) }
        case ASCII.three:
            guard let (id, _) = p.parseUInt(at: 2) else { return }
            ack(id)
        case ASCII.zero:
            guard state == .connecting else { return }
            if shard.config.parameters.scenario == .fanout {
                state = .joining
                writeText { $0.writeStaticString("420[\"bench:join\",\"bench\"]") }
            } else {
                becomeReady()
            }
        case ASCII.four:
            fail(BenchError.protocolError("CONNECT_ERROR from the server"))
        default:
            break
        }
    }

    private func becomeReady() {
        state = .ready
        shard.connects += 1
        shard.connectHistogram.record(nanos: monotonicNanos() &- startNanos)
        if let ready {
            self.ready = nil
            ready.succeed(())
        }
    }

    // MARK: echo

    func sendEcho() {
        guard state == .ready else { return }
        if outstanding >= Self.maxOutstanding {
            shard.skipped += 1
            return
        }
        if sendTimes.isEmpty { sendTimes = Array(repeating: 0, count: Self.maxOutstanding) }
        let id = nextAckID
        nextAckID += 1
        outstanding += 1
        shard.sent += 1
        let tail = shard.config.echoTail
        writeText { buffer in
            buffer.writeStaticString("42")
            buffer.writeDecimal(id)
            buffer.writeImmutableBuffer(tail)
        }
        sendTimes[Int(id % UInt64(Self.maxOutstanding))] = monotonicNanos()
    }

    private func ack(_ id: UInt64) {
        if state == .joining {
            if id == 0 { becomeReady() }
            return
        }
        guard outstanding > 0, !sendTimes.isEmpty else { return }
        let now = monotonicNanos()
        outstanding -= 1
        shard.rttHistogram.record(nanos: now &- sendTimes[Int(id % UInt64(Self.maxOutstanding))])
        if shard.measuring { shard.acks += 1 } else { shard.lateAcks += 1 }
        if shard.sending && shard.config.parameters.rate <= 0 { sendEcho() }
    }

    // MARK: fan-out

    /// `42["bench:msg",{"seq":n,"t":ms,…}]`: count it, check seq, sample the latency.
    @inline(__always)
    private func event(_ p: UnsafeRawBufferPointer) {
        // The usual layout puts the digits at 22; find "seq": otherwise.
        var at = 22
        if !p.matches("\"seq\":", at: 16) {
            guard let found = p.find("\"seq\":", from: 4) else { return }
            at = found + 6
        }
        guard let (seq, end) = p.parseUInt(at: at) else { return }
        received += 1
        shard.deliveries += 1
        shard.lastDeliveryDirty = true
        if seq == expectedSeq {
            expectedSeq = seq + 1
        } else if seq > expectedSeq {
            // a gap: the missing ones count as lost at the end unless they arrive late
            shard.gaps += 1
            expectedSeq = seq + 1
        } else {
            shard.outOfOrder += 1
        }
        if seq & shard.config.sampleMask == 0 {
            let t: Int?
            if p.matches(",\"t\":", at: end) {
                t = end + 5
            } else {
                t = p.find("\"t\":", from: 4).map { $0 + 4 }
            }
            if let t, let sentMicros = p.parseMillisAsMicros(at: t) {
                let now = realtimeMicros()
                shard.fanoutHistogram.record(micros: now > sentMicros ? now - sentMicros : 0)
            }
        }
        if isPublisher { shard.publisher?.ownCopy() }
    }

    // MARK: writing

    /// Sends a text frame whose payload `build` writes (masked, as a client must).
    @inline(__always)
    func writeText(flush: Bool = true, _ build: (inout ByteBuffer) -> Void) {
        writeFrame(opcode: 0x1, flush: flush, build)
    }

    func flush() {
        context?.flush()
    }

    private func writeFrame(opcode: UInt8, flush: Bool = true, _ build: (inout ByteBuffer) -> Void) {
        guard let context, state != .closed else { return }
        shard.scratch.clear()
        build(&shard.scratch)
        let n = shard.scratch.readableBytes
        var out = context.channel.allocator.buffer(capacity: n + 14)
        out.writeInteger(0x80 | opcode)
        if n < 126 {
            out.writeInteger(UInt8(0x80 | n))
        } else if n <= 0xFFFF {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(n))
        } else {
            out.writeInteger(UInt8(0x80 | 127))
            out.writeInteger(UInt64(n))
        }
        out.writeBytes(mask)
        shard.scratch.webSocketMask(mask)
        out.writeImmutableBuffer(shard.scratch)
        if flush {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        } else {
            context.write(wrapOutboundOut(out), promise: nil)
        }
    }
}

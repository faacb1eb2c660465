import NIOCore
import NIOHTTP1

/// HTTP long-polling: a GET is parked here until packets are due, then answered with them as one
/// payload (text as is, binary as "b"+base64, separated by 0x1E). Owned by the session, touched only
/// on its event loop.
final class PollingTransport: EngineTransport {
    let kind = EngineTransportKind.polling
    private let allocator: ByteBufferAllocator
    private let responseHeaders: HTTPHeaders
    /// The parked GET, if any.
    private(set) var parked: HTTPResponseSink?

    init(allocator: ByteBufferAllocator, responseHeaders: HTTPHeaders) {
        self.allocator = allocator
        self.responseHeaders = responseHeaders
    }

    /// Keeps a GET until packets are due.
    func park(_ sink: HTTPResponseSink) {
        self.parked = sink
    }

    /// Answers the parked GET with `packets`.
    func send(_ packets: some Collection<EncodedPacket>) {
        guard let sink = self.parked else { return }
        self.parked = nil
        self.respond(sink, with: packets)
    }

    /// Answers `sink` with `packets` as a polling payload.
    func respond(_ sink: HTTPResponseSink, with packets: some Collection<EncodedPacket>) {
        var body = self.allocator.buffer(capacity: packets.reduce(0) { $0 + $1.bytes.readableBytes + 1 })
        EngineCodec.writePayload(packets, into: &body)
        sink.send(HTTPServerResponse(status: .ok, headers: self.responseHeaders, body: body))
    }

    /// Forgets the parked GET without answering it (its connection went away).
    func dropParked() {
        self.parked = nil
    }
}

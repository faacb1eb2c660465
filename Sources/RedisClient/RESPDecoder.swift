import NIOCore

/// Turns bytes from Redis into ``RESPValue``s, incrementally and within bounds (a NIO
/// `ByteToMessageDecoder`: put it in a `ByteToMessageHandler`).
public struct RESPDecoder: ByteToMessageDecoder, Sendable {
    /// The decoder's bounds: a reply outside them fails with ``RESPDecodingError`` instead of being
    /// buffered.
    public struct Configuration: Sendable, Hashable {
        /// The longest bulk string accepted, in bytes. Default 512 MiB (Redis' `proto-max-bulk-len`).
        public var maxBulkLength: Int = 512 * 1024 * 1024
        /// The most elements of one array. Default 1 048 576.
        public var maxArrayLength: Int = 1_048_576
        /// The deepest nesting of arrays. Default 32 (stream replies nest 4 deep).
        public var maxNestingDepth: Int = 32
        /// The longest simple string, error or number line, in bytes. Default 65 536.
        public var maxLineLength: Int = 65_536

        /// The defaults.
        public init() {}
    }

    public typealias InboundOut = RESPValue

    private let parser: RESPParser

    /// A decoder with `configuration`'s bounds.
    public init(configuration: Configuration = .init()) {
        self.parser = RESPParser(configuration: configuration)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try self.parser.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try self.decode(context: context, buffer: &buffer)
    }
}

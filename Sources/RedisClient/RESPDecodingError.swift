/// Why bytes from Redis are not valid RESP2 (the connection is then closed and re-established:
/// after a framing error nothing later on the stream can be trusted).
public enum RESPDecodingError: Error, Hashable, Sendable {
    /// A value starts with a byte that is no RESP2 type marker.
    case invalidTypeMarker(UInt8)
    /// A length or integer is not a decimal number (or is below -1).
    case invalidInteger
    /// A line is not terminated by CRLF, or a bulk string's payload is not followed by CRLF.
    case missingCRLF
    /// A simple string, error or integer line is longer than ``RESPDecoder/Configuration/maxLineLength``.
    case lineTooLong
    /// A bulk string is longer than ``RESPDecoder/Configuration/maxBulkLength``.
    case bulkTooLong(Int)
    /// An array has more elements than ``RESPDecoder/Configuration/maxArrayLength``.
    case arrayTooLong(Int)
    /// Arrays are nested deeper than ``RESPDecoder/Configuration/maxNestingDepth``.
    case nestingTooDeep
}

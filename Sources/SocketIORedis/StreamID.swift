/// A Redis stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them. It is the
/// cluster-wide broadcast offset: every node reads the same stream, so an offset handed to a client
/// by one node means the same on every other.
public struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The milliseconds part.
    public var milliseconds: UInt64
    /// The sequence part.
    public var sequence: UInt64

    /// An id from its parts.
    public init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `ms-seq` (or a bare `ms`, sequence 0); `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let ms = parts.first.flatMap({ UInt64($0) }) else { return nil }
        if parts.count == 2 {
            guard let seq = UInt64(parts[1]) else { return nil }
            self.init(milliseconds: ms, sequence: seq)
        } else {
            self.init(milliseconds: ms, sequence: 0)
        }
    }

    /// The smallest id.
    public static let zero = StreamID(milliseconds: 0, sequence: 0)

    public var description: String { "\(self.milliseconds)-\(self.sequence)" }

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }
}

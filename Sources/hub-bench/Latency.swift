import Histogram

/// A latency histogram in microseconds (HdrHistogram, 3 significant digits, up to 10 minutes).
struct LatencyHistogram: Sendable {
    static let highest: UInt64 = 600_000_000

    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LatencyHistogram.highest,
                                                   numberOfSignificantValueDigits: .three)

    var count: UInt64 { histogram.totalCount }

    @inline(__always)
    mutating func record(micros: UInt64) {
        histogram.record(Swift.min(micros, Self.highest))
    }

    @inline(__always)
    mutating func record(nanos: UInt64) {
        record(micros: (nanos &+ 500) / 1000)
    }

    mutating func merge(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    /// (value, count) pairs of the recorded buckets: small enough to cross a pipe as JSON.
    var compact: [[UInt64]] {
        histogram.recordedValues().map { [$0.value, UInt64($0.count)] }
    }

    init() {}

    init(compact pairs: [[UInt64]]) {
        for pair in pairs where pair.count == 2 {
            histogram.record(Swift.min(pair[0], Self.highest), count: pair[1])
        }
    }

    /// The value at a percentile, in milliseconds (nil when nothing was recorded).
    func ms(atPercentile p: Double) -> Double? {
        guard count > 0 else { return nil }
        return Double(histogram.valueAtPercentile(p)) / 1000
    }

    var maxMs: Double? {
        guard count > 0 else { return nil }
        return Double(histogram.max) / 1000
    }
}

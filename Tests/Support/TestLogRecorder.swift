import Logging
import NIOConcurrencyHelpers

/// A swift-log handler that keeps every line, at every level, as
/// `"<level> <message> <key=value …, sorted> <error>"`: for tests that read what was logged (a
/// connection log line, and never a token).
package final class TestLogRecorder: LogHandler, Sendable {
    private let records = NIOLockedValueBox<[String]>([])

    package init() {}

    /// Every line logged so far.
    package var lines: [String] { self.records.withLockedValue { $0 } }

    package var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    package var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    package func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " \($0)" } ?? ""
        self.records.withLockedValue { $0.append("\(event.level) \(event.message) \(metadata)\(error)") }
    }
}

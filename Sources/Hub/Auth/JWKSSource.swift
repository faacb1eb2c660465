import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A JSON Web Key Set read from a file or fetched from an `http(s)://` URL, cached.
///
/// The cached keys serve every verification; they are reloaded in the background once they are
/// older than ``Configuration/refreshInterval`` (checked when a token is verified), and at once
/// when a token names a `kid` the set does not have — at most once per
/// ``Configuration/refetchCooldown``, so tokens with made-up key ids cannot make the hub hammer
/// the identity provider. A failed load keeps the keys the hub had. One load runs at a time.
final class JWKSSource: Sendable {
    /// Where the key set comes from.
    enum Location: Sendable, Equatable, CustomStringConvertible {
        /// A file on disk.
        case file(String)
        /// An `http://` or `https://` URL, fetched with URLSession.
        case url(URL)

        /// `http(s)://…` is a URL, `file://…` or anything else a path.
        init(_ text: String) {
            let lowered = text.lowercased()
            if lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), let url = URL(string: text) {
                self = .url(url)
            } else if lowered.hasPrefix("file://"), let url = URL(string: text) {
                self = .file(url.path)
            } else {
                self = .file(text)
            }
        }

        var description: String {
            switch self {
            case .file(let path): path
            case .url(let url): url.absoluteString
            }
        }
    }

    /// How the key set is loaded and refreshed.
    struct Configuration: Sendable {
        /// Where the key set comes from.
        var location: Location
        /// How old the cached keys may get before a background reload. Default 5 minutes.
        var refreshInterval: TimeAmount = .minutes(5)
        /// The shortest time between two loads started by unknown `kid`s or staleness. Default 10 s.
        var refetchCooldown: TimeAmount = .seconds(10)
        /// How long one fetch may take. Default 10 s.
        var fetchTimeout: TimeAmount = .seconds(10)
        /// The algorithm for keys that name none (see ``JWTVerificationKey/jwk(_:defaultAlgorithm:)``).
        var defaultAlgorithm: JWTSigningAlgorithm? = nil
    }

    private struct State {
        var keys = JWTKeySet()
        var loadedAt: NIODeadline? = nil
        var lastAttempt: NIODeadline? = nil
        var inFlight: Task<JWTKeySet, Never>? = nil
    }

    let configuration: Configuration
    private let state = NIOLockedValueBox(State())
    private let logger: Logger?

    /// Creates the source. A file is read at once (and must hold a valid key set); a URL is
    /// fetched in the background (``ready()`` waits for that first fetch).
    init(configuration: Configuration, logger: Logger?) throws(JWTVerificationKey.LoadError) {
        self.configuration = configuration
        self.logger = logger
        switch configuration.location {
        case .file(let path):
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw .init(description: "cannot read \(path) (\(error.localizedDescription))")
            }
            let algorithm = configuration.defaultAlgorithm
            let result = CallerThreadExecutor.run { () async -> Result<JWTKeySet, JWTVerificationKey.LoadError> in
                do throws(JWTVerificationKey.LoadError) {
                    return .success(try await JWTKeySet.parse(data, defaultAlgorithm: algorithm))
                } catch {
                    return .failure(error)
                }
            }
            let keys = try result.get()
            let now = NIODeadline.now()
            self.state.withLockedValue {
                $0.keys = keys
                $0.loadedAt = now
                $0.lastAttempt = now
            }
        case .url:
            _ = self.startLoad(force: true)
        }
    }

    /// Whether the keys come from a URL.
    var isRemote: Bool {
        if case .url = self.configuration.location { return true }
        return false
    }

    /// The cached keys; starts a background reload when they are stale.
    func current() -> JWTKeySet {
        let now = NIODeadline.now()
        let (keys, stale) = self.state.withLockedValue { state in
            (state.keys, state.loadedAt.map { now - $0 >= self.configuration.refreshInterval } ?? true)
        }
        if stale {
            _ = self.startLoad(force: false)
        }
        return keys
    }

    /// Waits for the first fetch of a URL (or a load in flight) to end.
    func ready() async {
        let task = self.state.withLockedValue { $0.loadedAt == nil ? $0.inFlight : nil }
        _ = await task?.value
    }

    /// Reloads because a token named an unknown `kid` (unless a load ran within the cooldown),
    /// and returns the keys after it.
    func reloadForUnknownKey() async -> JWTKeySet {
        guard let task = self.startLoad(force: false) else {
            return self.state.withLockedValue { $0.keys }
        }
        return await task.value
    }

    /// Starts a reload in the background because a token named an unknown `kid` (rate-limited as
    /// ``reloadForUnknownKey()``).
    func requestReloadForUnknownKey() {
        _ = self.startLoad(force: false)
    }

    /// Starts a load, or joins the one in flight; `nil` when the cooldown forbids one.
    private func startLoad(force: Bool) -> Task<JWTKeySet, Never>? {
        let now = NIODeadline.now()
        return self.state.withLockedValue { state -> Task<JWTKeySet, Never>? in
            if let task = state.inFlight { return task }
            if !force, let last = state.lastAttempt, now - last < self.configuration.refetchCooldown {
                return nil
            }
            state.lastAttempt = now
            let task = Task { () -> JWTKeySet in
                let loaded = await self.load()
                return self.state.withLockedValue { state in
                    state.inFlight = nil
                    if let loaded {
                        state.keys = loaded
                        state.loadedAt = .now()
                    }
                    return state.keys
                }
            }
            state.inFlight = task
            return task
        }
    }

    /// Reads or fetches the key set; `nil` (logged) on failure.
    private func load() async -> JWTKeySet? {
        do {
            let data = try await self.fetch()
            let keys = try await JWTKeySet.parse(data, defaultAlgorithm: self.configuration.defaultAlgorithm)
            self.logger?.debug("JWKS loaded", metadata: [
                "jwks": "\(self.configuration.location)", "keys": "\(keys.keys.count)", "skipped": "\(keys.skipped)",
            ])
            return keys
        } catch {
            self.logger?.warning("JWKS load failed; keeping the keys in hand", metadata: [
                "jwks": "\(self.configuration.location)", "error": "\(error)",
            ])
            return nil
        }
    }

    private func fetch() async throws -> Data {
        switch self.configuration.location {
        case .file(let path):
            return try Data(contentsOf: URL(fileURLWithPath: path))
        case .url(let url):
            var request = URLRequest(url: url)
            request.timeoutInterval = Double(self.configuration.fetchTimeout.nanoseconds) / 1e9
            request.setValue("application/json", forHTTPHeaderField: "Accept")
            let (data, response) = try await Self.data(for: request)
            guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                throw JWTVerificationKey.LoadError(description: "HTTP status \(status)")
            }
            return data
        }
    }

    /// One request on an ephemeral session (no cookies, no cache on disk).
    private static func data(for request: URLRequest) async throws -> (Data, URLResponse) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else if let data, let response {
                    continuation.resume(returning: (data, response))
                } else {
                    continuation.resume(throwing: JWTVerificationKey.LoadError(description: "no response"))
                }
            }
            task.resume()
        }
    }
}

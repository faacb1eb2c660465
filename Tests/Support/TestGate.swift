import NIOConcurrencyHelpers

/// A gate any number of tasks wait at until the test opens it (open it in a `defer` so nothing
/// waits forever when a test fails early).
package final class TestGate: Sendable {
    private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    package init() {}

    /// Waits until ``open()`` (at once if it was already called).
    package func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = self.state.withLockedValue { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Lets every waiter, present and future, through.
    package func open() {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

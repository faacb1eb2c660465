import Foundation
import NIOConcurrencyHelpers

/// Runs an async operation to completion on the calling thread, for code that must stay
/// synchronous but calls an actor that never waits on I/O.
///
/// jwt-kit keeps its keys in an actor (`JWTKeyCollection`); turning a secret, a PEM key or a JWK
/// into a verifier is pure computation behind that actor. The hub builds its verifiers at start-up,
/// from a synchronous initializer, so it gives the task this executor as its preference: the
/// task's jobs (and, for default actors, the actor's) are queued here and run by the waiting
/// thread, never by the shared cooperative pool. Should a job be scheduled elsewhere anyway, the
/// caller simply waits for it.
final class CallerThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    /// Guarded by `condition`.
    private var finished = false

    private init() {}

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.condition.lock()
        self.jobs.append(job)
        self.condition.signal()
        self.condition.unlock()
    }

    private func finish() {
        self.condition.lock()
        self.finished = true
        self.condition.signal()
        self.condition.unlock()
    }

    /// The result of `operation`, computed on this thread.
    ///
    /// Only for operations that do not wait on I/O or timers: the thread blocks until the
    /// operation is done.
    static func run<Value: Sendable>(_ operation: @escaping @Sendable () async -> Value) -> Value {
        let executor = CallerThreadExecutor()
        let result = NIOLockedValueBox<Value?>(nil)
        Task(executorPreference: executor) {
            let value = await operation()
            result.withLockedValue { $0 = value }
            executor.finish()
        }
        while true {
            executor.condition.lock()
            while executor.jobs.isEmpty && !executor.finished {
                executor.condition.wait()
            }
            if executor.jobs.isEmpty {
                executor.condition.unlock()
                break
            }
            let job = executor.jobs.removeFirst()
            executor.condition.unlock()
            job.runSynchronously(on: executor.asUnownedTaskExecutor())
        }
        return result.withLockedValue { $0! }
    }
}

// A FIFO that server-side handlers (on event loops) push into and one test task reads from, each
// read with a timeout that only guards against a hang. (TestSupport's TestAsyncQueue has no
// initializer visible outside its module.)

import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport

final class TestQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var finished = false
        var waiter: (id: Int, continuation: CheckedContinuation<Element, any Error>)?
        var nextWaiterID = 0
    }

    private enum Dequeue {
        case element(Element)
        case closed
        case waiting(Int)
    }

    private let state = NIOLockedValueBox(State())
    /// Runs the read timeouts; the singleton outlives any group a test shuts down.
    private let timerLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any()

    init() {}

    func push(_ element: Element) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Element, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.buffer.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    /// No more elements: the buffered ones are still delivered, then reads throw
    /// ``TestClientError/connectionClosed``.
    func finish() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Element, any Error>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(throwing: TestClientError.connectionClosed)
    }

    /// Whether nothing is buffered.
    var isEmpty: Bool { self.state.withLockedValue { $0.buffer.isEmpty } }

    /// The next element; one reader at a time.
    func next(timeout: TimeAmount = testClientTimeout, _ what: String) async throws -> Element {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = self.state.withLockedValue { state -> Dequeue in
                if !state.buffer.isEmpty { return .element(state.buffer.removeFirst()) }
                if state.finished { return .closed }
                precondition(state.waiter == nil, "TestQueue has one reader at a time")
                state.nextWaiterID += 1
                state.waiter = (state.nextWaiterID, continuation)
                return .waiting(state.nextWaiterID)
            }
            switch outcome {
            case .element(let element):
                continuation.resume(returning: element)
            case .closed:
                continuation.resume(throwing: TestClientError.connectionClosed)
            case .waiting(let id):
                self.timerLoop.scheduleTask(in: timeout) { self.timeOut(waiter: id, what) }
            }
        }
    }

    /// The next `count` elements, in order.
    func next(_ count: Int, timeout: TimeAmount = testClientTimeout, _ what: String) async throws -> [Element] {
        var elements: [Element] = []
        for _ in 0..<count {
            elements.append(try await self.next(timeout: timeout, what))
        }
        return elements
    }

    private func timeOut(waiter id: Int, _ what: String) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Element, any Error>? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(throwing: TestClientError.timedOut(what))
    }
}

/// A gate any number of tasks wait at until the test opens it (open it in a `defer` so nothing
/// waits forever when a test fails early).
final class TestGate: Sendable {
    private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init() {}

    /// Waits until ``open()`` (at once if it was already called).
    func wait() async {
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
    func open() {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

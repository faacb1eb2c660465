import RedisClient
import Testing

@Suite("Redis connection state machine")
struct RedisConnectionStateMachineTests {
    typealias Machine = RedisConnectionStateMachine<Int>

    func written(_ action: Machine.SendAction) -> Int? {
        if case .write(let command) = action { return command }
        return nil
    }

    func failure(_ action: Machine.SendAction) -> RedisClientError? {
        if case .fail(_, let error) = action { return error }
        return nil
    }

    @Test func queuesWhileConnectingThenWritesInOrder() {
        var machine = Machine(maxQueued: 10)
        let started = machine.start()
        let startedAgain = machine.start()
        #expect(started)
        #expect(!startedAgain)
        #expect(machine.state == .connecting(attempt: 0))
        for command in 1...3 { if case .queued = machine.send(command) {} else { Issue.record("not queued") } }
        let queued = machine.connected()
        #expect(queued == [1, 2, 3])
        #expect(machine.state == .ready)
        let action = machine.send(4)
        #expect(self.written(action) == 4)
    }

    @Test func queueIsBounded() {
        var machine = Machine(maxQueued: 2)
        _ = machine.start()
        _ = machine.send(1)
        _ = machine.send(2)
        let third = machine.send(3)
        #expect(self.failure(third) == .tooManyPendingCommands)
        #expect(machine.queuedCount == 2)
    }

    @Test func failedAttemptsBackOffAndFailQueuedCommands() {
        var machine = Machine(maxQueued: 10)
        _ = machine.start()
        _ = machine.send(1)
        let first = machine.connectFailed()
        #expect(first.retryAttempt == 0)
        #expect(first.failed == [1])
        #expect(machine.state == .waitingToReconnect(attempt: 1))
        let second = machine.send(2)
        #expect(self.failure(second) == .notConnected)
        let retry = machine.retryTimerFired()
        #expect(retry)
        #expect(machine.state == .connecting(attempt: 1))
        let again = machine.connectFailed()
        #expect(again.retryAttempt == 1)
        _ = machine.retryTimerFired()
        let queued = machine.connected()
        #expect(queued == [])
        let lost = machine.connectionLost()
        #expect(lost == 0, "a lost ready connection starts the backoff over")
        #expect(machine.state == .waitingToReconnect(attempt: 0))
        let lostAgain = machine.connectionLost()
        #expect(lostAgain == nil, "only a ready connection can be lost")
    }

    @Test func closeWinsOverEverything() {
        var machine = Machine(maxQueued: 10)
        _ = machine.start()
        _ = machine.send(1)
        let failed = machine.close()
        #expect(failed == [1])
        #expect(machine.state == .closed)
        let late = machine.connected()
        #expect(late == nil, "a connection that completes after close is dropped")
        let attempt = machine.connectFailed().retryAttempt
        #expect(attempt == nil)
        let retry = machine.retryTimerFired()
        #expect(!retry)
        let action = machine.send(2)
        #expect(self.failure(action) == .closed)
    }
}

import NIOCore
import Testing

@testable import EngineIO

@Suite("Engine.IO session state machine")
struct EngineSessionStateMachineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let interval = TimeAmount.milliseconds(300)
    let timeout = TimeAmount.milliseconds(200)

    func polling() -> EngineSessionStateMachine {
        EngineSessionStateMachine(transport: .polling, now: self.start, pingInterval: self.interval, pingTimeout: self.timeout)
    }

    @Test func pollWithEmptyBufferParksAndSecondPollClosesTheSession() {
        var machine = self.polling()
        #expect(machine.pollArrived(bufferIsEmpty: true) == .park)
        #expect(machine.isPollParked)
        #expect(machine.canWriteNow)
        #expect(machine.pollArrived(bufferIsEmpty: true) == .rejectAndClose)
        let closed = machine.close()
        #expect(closed?.releaseParkedPoll == true)
        #expect(machine.isClosed)
        #expect(machine.pollArrived(bufferIsEmpty: true) == .reject(.sessionIDUnknown))
    }

    @Test func pollWithBufferedPacketsIsAnsweredAtOnce() {
        var machine = self.polling()
        #expect(machine.pollArrived(bufferIsEmpty: false) == .respondWithBuffer)
        #expect(!machine.isPollParked)
        #expect(!machine.canWriteNow)
    }

    @Test func abortedParkedPollClosesAPollingSession() {
        var machine = self.polling()
        #expect(machine.parkedPollAborted() == false)
        _ = machine.pollArrived(bufferIsEmpty: true)
        #expect(machine.parkedPollAborted() == true)
        #expect(!machine.isPollParked)
    }

    @Test func fullUpgradeReleasesTheParkedPollAndSwitchesTransport() {
        var machine = self.polling()
        _ = machine.pollArrived(bufferIsEmpty: true)
        #expect(machine.upgradeCandidateArrived() == true)
        #expect(machine.upgradeCandidateArrived() == false, "a second candidate is refused while one is pending")
        #expect(machine.probeReceived() == .answerProbe(releaseParkedPoll: true))
        #expect(machine.phase == .upgrading)
        #expect(machine.pollArrived(bufferIsEmpty: false) == .respondNoop, "a GET during the upgrade gets a noop")
        #expect(!machine.canWriteNow, "packets wait for the upgrade to complete")
        #expect(machine.upgradeReceived() == .complete(releaseParkedPoll: false))
        #expect(machine.phase == .open(.websocket))
        #expect(machine.canWriteNow)
        #expect(machine.pollArrived(bufferIsEmpty: true) == .reject(.badRequest))
        #expect(machine.postArrived() == .badRequest)
        #expect(machine.upgradeCandidateArrived() == false, "an upgraded session takes no second WebSocket")
    }

    @Test func upgradeWithoutProbeIsRefused() {
        var machine = self.polling()
        #expect(machine.upgradeCandidateArrived() == true)
        #expect(machine.upgradeReceived() == .closeCandidate)
        #expect(machine.phase == .open(.polling))
    }

    @Test func probeWithoutCandidateIsRefused() {
        var machine = self.polling()
        #expect(machine.probeReceived() == .closeCandidate)
    }

    @Test func failedCandidateReturnsToPolling() {
        var machine = self.polling()
        #expect(machine.upgradeCandidateArrived() == true)
        #expect(machine.probeReceived() == .answerProbe(releaseParkedPoll: false))
        machine.upgradeCandidateFailed()
        #expect(machine.phase == .open(.polling))
        #expect(!machine.hasUpgradeCandidate)
        #expect(machine.upgradeCandidateArrived() == true, "a new attempt may follow")
    }

    @Test func webSocketSessionsRefuseUpgradeCandidates() {
        var machine = EngineSessionStateMachine(transport: .websocket, now: self.start, pingInterval: self.interval, pingTimeout: self.timeout)
        #expect(machine.canWriteNow)
        #expect(machine.upgradeCandidateArrived() == false)
    }

    @Test func heartbeatPingsThenTimesOutWithoutPong() {
        var machine = self.polling()
        #expect(machine.firstHeartbeatDeadline == self.start + self.interval)
        #expect(machine.heartbeatTimerFired(now: self.start + .milliseconds(10)) == .reschedule(self.start + self.interval))
        let pingAt = self.start + self.interval
        #expect(machine.heartbeatTimerFired(now: pingAt) == .sendPing(nextFire: pingAt + self.timeout))
        #expect(!machine.isPongOverdue(now: pingAt + .milliseconds(199)))
        #expect(machine.isPongOverdue(now: pingAt + self.timeout))
        #expect(machine.heartbeatTimerFired(now: pingAt + self.timeout) == .timeOut)
    }

    @Test func pongMovesTheNextPing() {
        var machine = self.polling()
        let pingAt = self.start + self.interval
        _ = machine.heartbeatTimerFired(now: pingAt)
        let pongAt = pingAt + .milliseconds(50)
        machine.pongReceived(now: pongAt)
        #expect(!machine.isPongOverdue(now: pingAt + self.timeout + .milliseconds(1)))
        // The timer armed for the pong deadline fires and finds the next ping not yet due.
        #expect(machine.heartbeatTimerFired(now: pingAt + self.timeout) == .reschedule(pongAt + self.interval))
        #expect(machine.heartbeatTimerFired(now: pongAt + self.interval) == .sendPing(nextFire: pongAt + self.interval + self.timeout))
    }

    @Test func closeIsIdempotentAndReportsTheCandidate() {
        var machine = self.polling()
        _ = machine.upgradeCandidateArrived()
        let first = machine.close()
        #expect(first?.closeCandidate == true)
        #expect(first?.releaseParkedPoll == false)
        #expect(machine.close() == nil)
        #expect(machine.activeTransport == nil)
    }
}

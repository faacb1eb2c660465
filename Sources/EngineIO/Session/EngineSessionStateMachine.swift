import NIOCore

/// The lifecycle of one Engine.IO session as a value type: which transport carries the packets,
/// whether a WebSocket upgrade is under way, whether a long-poll GET is parked, and the heartbeat.
///
/// It performs no I/O. ``EngineSession`` feeds it events and carries out the actions it returns, so
/// each rule of the protocol's session lifecycle lives here and is tested here.
///
/// ```
/// open(polling) ──probe on candidate──▶ upgrading ──"5"──▶ open(websocket)
///      │                                   │                     │
///      └────────── close / timeout / error ┴─────────────────────┴──▶ closed
/// ```
struct EngineSessionStateMachine: Sendable {
    /// Where the session stands.
    enum Phase: Hashable, Sendable {
        /// Packets travel on this transport.
        case open(EngineTransportKind)
        /// A WebSocket answered the probe; polling still carries packets until the client sends "5".
        case upgrading
        /// The session is over.
        case closed
    }

    /// The heartbeat: the server pings every `pingInterval` and expects a pong within `pingTimeout`.
    enum Heartbeat: Hashable, Sendable {
        /// The next ping is due at this deadline.
        case waitingToPing(NIODeadline)
        /// A ping went out; the pong is due by this deadline.
        case awaitingPong(NIODeadline)
    }

    /// What to do with a long-poll GET.
    enum PollAction: Hashable, Sendable {
        /// Answer now with the buffered packets.
        case respondWithBuffer
        /// Park the request until packets arrive.
        case park
        /// Answer now with a noop packet (an upgrade is under way).
        case respondNoop
        /// Refuse the request with this error, leaving the session alone.
        case reject(EngineError)
        /// A second GET overlaps a parked one: refuse it and close the session, which answers the
        /// parked GET with a close packet.
        case rejectAndClose
    }

    /// What to do with a `2probe` from the upgrade candidate.
    enum ProbeAction: Hashable, Sendable {
        /// Answer `3probe`; if `releaseParkedPoll`, answer the parked GET with a noop.
        case answerProbe(releaseParkedPoll: Bool)
        /// The probe is out of place: close the candidate.
        case closeCandidate
    }

    /// What to do with the `5` upgrade packet from the candidate.
    enum UpgradeAction: Hashable, Sendable {
        /// The WebSocket now carries the session: flush the buffer there; if `releaseParkedPoll`,
        /// answer the parked GET with a noop.
        case complete(releaseParkedPoll: Bool)
        /// The upgrade is out of place: close the candidate.
        case closeCandidate
    }

    /// What the heartbeat timer should do when it fires.
    enum HeartbeatAction: Hashable, Sendable {
        /// Send a ping and fire again at the deadline.
        case sendPing(nextFire: NIODeadline)
        /// Not due yet (a pong moved the deadline): fire again at the deadline.
        case reschedule(NIODeadline)
        /// The pong did not come in time: close with "ping timeout".
        case timeOut
    }

    let pingInterval: TimeAmount
    let pingTimeout: TimeAmount
    private(set) var phase: Phase
    private(set) var heartbeat: Heartbeat
    /// A WebSocket connected with this session's sid and may take it over.
    private(set) var hasUpgradeCandidate = false
    /// A long-poll GET is parked, waiting for packets.
    private(set) var isPollParked = false

    /// A session opened on `transport` at `now`.
    init(transport: EngineTransportKind, now: NIODeadline, pingInterval: TimeAmount, pingTimeout: TimeAmount) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.phase = .open(transport)
        self.heartbeat = .waitingToPing(now + pingInterval)
    }

    /// The deadline at which the heartbeat timer should fire next.
    var firstHeartbeatDeadline: NIODeadline {
        switch self.heartbeat {
        case .waitingToPing(let deadline), .awaitingPong(let deadline): deadline
        }
    }

    var isClosed: Bool { self.phase == .closed }

    /// Whether a packet can go out now rather than wait in the buffer: the WebSocket is active, or a
    /// GET is parked.
    var canWriteNow: Bool {
        switch self.phase {
        case .open(.websocket): true
        case .open(.polling), .upgrading: self.isPollParked
        case .closed: false
        }
    }

    /// The transport carrying packets, or `nil` once closed.
    var activeTransport: EngineTransportKind? {
        switch self.phase {
        case .open(let kind): kind
        case .upgrading: .polling
        case .closed: nil
        }
    }

    // MARK: Polling

    /// A long-poll GET arrived; `bufferIsEmpty` says whether packets are waiting.
    mutating func pollArrived(bufferIsEmpty: Bool) -> PollAction {
        switch self.phase {
        case .closed:
            return .reject(.sessionIDUnknown)
        case .open(.websocket):
            return .reject(.badRequest)
        case .upgrading:
            return self.isPollParked ? .rejectAndClose : .respondNoop
        case .open(.polling):
            if self.isPollParked {
                return .rejectAndClose
            }
            if !bufferIsEmpty {
                return .respondWithBuffer
            }
            self.isPollParked = true
            return .park
        }
    }

    /// The parked GET was answered (with packets, a noop or a close packet).
    mutating func parkedPollAnswered() {
        self.isPollParked = false
    }

    /// A POST arrived. Returns the error to refuse it with, or `nil` to accept it.
    func postArrived() -> EngineError? {
        switch self.phase {
        case .closed: .sessionIDUnknown
        case .open(.websocket): .badRequest
        case .open(.polling), .upgrading: nil
        }
    }

    /// The client went away while its GET was parked. Returns whether the session must close
    /// ("transport error"), which it must while polling carries it.
    mutating func parkedPollAborted() -> Bool {
        guard self.isPollParked else { return false }
        self.isPollParked = false
        switch self.phase {
        case .open(.polling), .upgrading: return true
        case .open(.websocket), .closed: return false
        }
    }

    // MARK: Upgrade

    /// A WebSocket asks to take over this session. Returns whether it may become the candidate.
    mutating func upgradeCandidateArrived() -> Bool {
        guard self.phase == .open(.polling), !self.hasUpgradeCandidate else { return false }
        self.hasUpgradeCandidate = true
        return true
    }

    /// The candidate sent `2probe`.
    mutating func probeReceived() -> ProbeAction {
        guard self.hasUpgradeCandidate, self.phase == .open(.polling) else { return .closeCandidate }
        self.phase = .upgrading
        let release = self.isPollParked
        self.isPollParked = false
        return .answerProbe(releaseParkedPoll: release)
    }

    /// The candidate sent `5`.
    mutating func upgradeReceived() -> UpgradeAction {
        guard self.hasUpgradeCandidate, self.phase == .upgrading else { return .closeCandidate }
        self.phase = .open(.websocket)
        self.hasUpgradeCandidate = false
        let release = self.isPollParked
        self.isPollParked = false
        return .complete(releaseParkedPoll: release)
    }

    /// The candidate closed or timed out before completing the upgrade; polling carries on.
    mutating func upgradeCandidateFailed() {
        guard self.hasUpgradeCandidate else { return }
        self.hasUpgradeCandidate = false
        if self.phase == .upgrading {
            self.phase = .open(.polling)
        }
    }

    // MARK: Heartbeat

    /// The heartbeat timer fired at `now`.
    mutating func heartbeatTimerFired(now: NIODeadline) -> HeartbeatAction {
        switch self.heartbeat {
        case .waitingToPing(let due):
            if now < due {
                return .reschedule(due)
            }
            let pongDue = now + self.pingTimeout
            self.heartbeat = .awaitingPong(pongDue)
            return .sendPing(nextFire: pongDue)
        case .awaitingPong(let due):
            if now < due {
                return .reschedule(due)
            }
            return .timeOut
        }
    }

    /// A pong arrived at `now`: the next ping is due a `pingInterval` later.
    mutating func pongReceived(now: NIODeadline) {
        if case .awaitingPong = self.heartbeat {
            self.heartbeat = .waitingToPing(now + self.pingInterval)
        }
    }

    /// Whether the pong is overdue at `now`; checked whenever a request for the session arrives, so
    /// a late timer does not keep a dead session alive.
    func isPongOverdue(now: NIODeadline) -> Bool {
        if case .awaitingPong(let due) = self.heartbeat {
            return now >= due
        }
        return false
    }

    // MARK: Close

    /// Closes the session. Returns `nil` if it was already closed, otherwise whether a parked GET
    /// must be answered and whether an upgrade candidate must be closed.
    mutating func close() -> (releaseParkedPoll: Bool, closeCandidate: Bool)? {
        guard self.phase != .closed else { return nil }
        self.phase = .closed
        let result = (self.isPollParked, self.hasUpgradeCandidate)
        self.isPollParked = false
        self.hasUpgradeCandidate = false
        return result
    }
}

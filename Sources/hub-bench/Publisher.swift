import NIOCore

/// The fan-out publisher: global client 0, which is also in the room. Without a rate it keeps
/// `window` messages in flight, counted by its own copies coming back (and, more loosely, by the
/// average progress of each event loop of its process, so a lagging loop cannot fall far behind).
/// With a rate it publishes on a 1 ms tick. Lives on its shard's loop.
final class Publisher: @unchecked Sendable {
    let shard: Shard
    let client: WSClient
    let rate: Double
    let window: Int
    private(set) var published = 0
    private var own = 0
    private var running = false
    private(set) var startNanos: UInt64 = 0
    private var timer: RepeatedTask?
    private var progressTimer: RepeatedTask?
    private var peers: [Shard] = []
    private var peerMinimum: [Int] = []

    init(shard: Shard, client: WSClient, rate: Double, window: Int) {
        self.shard = shard
        self.client = client
        self.rate = rate
        self.window = max(1, window)
    }

    func start(peers: [Shard]) {
        self.peers = peers
        self.peerMinimum = Array(repeating: 0, count: peers.count)
        running = true
        startNanos = monotonicNanos()
        if rate > 0 {
            timer = shard.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { [self] _ in
                self.tick()
            }
        } else {
            progressTimer = shard.loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) { [self] _ in
                self.pollPeers()
            }
            pump()
        }
    }

    /// Stops publishing; returns the number of messages published.
    @discardableResult
    func stop() -> Int {
        running = false
        timer?.cancel()
        timer = nil
        progressTimer?.cancel()
        progressTimer = nil
        return published
    }

    func clientClosed(_ closed: WSClient) {
        if closed === client { stop() }
    }

    /// The publisher's own copy of a message came back.
    @inline(__always)
    func ownCopy() {
        own += 1
        if running && rate <= 0 { pump() }
    }

    private func pump() {
        guard running else { return }
        let slowest = peerMinimum.min() ?? own
        var wrote = false
        while published - own < window && published - slowest < window * 4 {
            publishOne()
            wrote = true
        }
        if wrote { client.flush() }
    }

    private func tick() {
        guard running else { return }
        let due = Int(Double(monotonicNanos() &- startNanos) / 1e9 * rate) + 1
        var n = min(due - published, 10_000)
        guard n > 0 else { return }
        while n > 0 {
            publishOne()
            n -= 1
        }
        client.flush()
    }

    /// Reads each loop's progress (by message passing, so the clients' counters stay plain).
    private func pollPeers() {
        let home = shard.loop
        for (i, peer) in peers.enumerated() {
            peer.loop.execute {
                let m = peer.averageReceived
                home.execute { [self] in
                    if i < self.peerMinimum.count { self.peerMinimum[i] = m == Int.max ? self.published : m }
                    self.pump()
                }
            }
        }
    }

    @inline(__always)
    private func publishOne() {
        let seq = UInt64(published)
        published += 1
        let t = realtimeMicros()
        let tail = shard.config.publishTail
        client.writeText(flush: false) { b in
            b.writeStaticString("42[\"bench:publish\",\"bench\",{\"seq\":")
            b.writeDecimal(seq)
            b.writeStaticString(",\"t\":")
            b.writeDecimal(t / 1000)
            let frac = t % 1000
            b.writeInteger(ASCII.dot)
            b.writeInteger(ASCII.zero &+ UInt8(frac / 100))
            b.writeInteger(ASCII.zero &+ UInt8(frac / 10 % 10))
            b.writeInteger(ASCII.zero &+ UInt8(frac % 10))
            b.writeImmutableBuffer(tail)
        }
    }
}

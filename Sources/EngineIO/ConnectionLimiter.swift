/// Why a connection or a new session was refused; the raw values are the `reason` label of
/// `hub_connections_refused_total`. Docs/reliability.md lists each answer.
public enum ConnectionRefusal: String, Sendable, Hashable, CaseIterable {
    /// ``EngineConfiguration/maxConnections`` sessions are open: 503 on the handshake.
    case maxConnections = "max_connections"
    /// ``EngineConfiguration/maxConnectionsPerIP`` sessions are open from the client's address: 503.
    case maxConnectionsPerIP = "max_connections_per_ip"
    /// The server is draining for shutdown: 503 on the handshake.
    case shuttingDown = "shutting_down"
    /// The request head passed ``HTTPServer/Configuration/maxHeaderSize``: 431, then close.
    case headerTooLarge = "header_too_large"
    /// The request head was not complete within ``HTTPServer/Configuration/requestHeadTimeout``: 408,
    /// then close.
    case requestHeadTimeout = "request_head_timeout"

    /// The Engine.IO-style answer to a refused handshake: `{"code":N,"message":"…"}` with status 503.
    /// The codes continue socket.io's error table (0–5).
    var engineError: (code: Int, message: String)? {
        switch self {
        case .maxConnections: (6, "Too many connections")
        case .maxConnectionsPerIP: (7, "Too many connections from this address")
        case .shuttingDown: (8, "Server shutting down")
        case .headerTooLarge, .requestHeadTimeout: nil
        }
    }
}

/// The session counts behind ``EngineConfiguration/maxConnections`` and
/// ``EngineConfiguration/maxConnectionsPerIP``, and the drain flag. A value type: the
/// ``EngineServer`` keeps it under a lock, tests drive it directly.
struct ConnectionLimiter: Sendable {
    /// The global cap; 0 means none.
    var maxConnections: Int
    /// The per-address cap; 0 means none.
    var maxConnectionsPerIP: Int
    /// Once set, every new session is refused with ``ConnectionRefusal/shuttingDown``.
    var isDraining = false
    /// Sessions holding a slot.
    private(set) var total = 0
    /// Slots held per client address (only addresses with at least one).
    private(set) var byAddress: [String: Int] = [:]

    init(maxConnections: Int, maxConnectionsPerIP: Int) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
    }

    /// Why a new session from `address` would be refused now, or `nil` if it would be admitted.
    /// `address` is the client's IP (`nil` for a peer without one, such as a UNIX socket: only the
    /// global cap applies).
    func refusal(for address: String?) -> ConnectionRefusal? {
        if self.isDraining { return .shuttingDown }
        if self.maxConnections > 0, self.total >= self.maxConnections { return .maxConnections }
        if self.maxConnectionsPerIP > 0, let address, self.byAddress[address, default: 0] >= self.maxConnectionsPerIP {
            return .maxConnectionsPerIP
        }
        return nil
    }

    /// Takes a slot for a new session from `address`; returns why not if it is refused.
    mutating func acquire(_ address: String?) -> ConnectionRefusal? {
        if let refusal = self.refusal(for: address) { return refusal }
        self.total += 1
        if let address { self.byAddress[address, default: 0] += 1 }
        return nil
    }

    /// Gives back the slot of a session from `address` that ended.
    mutating func release(_ address: String?) {
        precondition(self.total > 0, "released a connection slot that was not held")
        self.total -= 1
        guard let address, let count = self.byAddress[address] else { return }
        if count <= 1 {
            self.byAddress.removeValue(forKey: address)
        } else {
            self.byAddress[address] = count - 1
        }
    }
}

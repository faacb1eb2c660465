import Foundation

/// The human-readable table of `run` (without --json).
enum Report {
    static func table(_ r: BenchResult) -> String {
        var rows: [(String, String)] = []
        func add(_ name: String, _ value: Any?, _ unit: String = "") {
            guard let value else { return }
            let text: String
            switch value {
            case let d as Double: text = d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(format: "%.3f", d)
            default: text = "\(value)"
            }
            rows.append((name, unit.isEmpty ? text : "\(text) \(unit)"))
        }
        let f = r.figures
        let p = r.parameters
        var header = "hub-bench \(r.scenario.rawValue) → \(p.url)  clients=\(p.clients)"
        switch r.scenario {
        case .echo, .polling: header += "  rate=\(p.rate == 0 ? "closed-loop" : "\(p.rate)/s/client")  size=\(p.size)"
        case .fanout: header += "  " + (p.rate == 0 ? "window=\(p.window ?? 0)" : "rate=\(p.rate)/s") + "  size=\(p.size)"
        default: break
        }
        if r.scenario != .connect { header += "  duration=\(p.duration)s" }
        header += "  processes=\(p.processes)×\(p.threadsPerProcess) loops"
        if let c = p.pinClient { header += "  client@cpu\(c)" }
        if let c = p.pinServer { header += "  server@cpu\(c)" }

        switch r.scenario {
        case .connect:
            add("connects", f.connects)
            add("failures", f.connectFailures)
            add("connects/s", f.connectsPerS)
            add("connect p50", f.connectP50Ms, "ms")
            add("connect p99", f.connectP99Ms, "ms")
            add("connect max", f.connectMaxMs, "ms")
        case .idle:
            add("connections", f.connections)
            add("server RSS before", f.serverRssBeforeKb, "kB")
            add("server RSS after", f.serverRssAfterKb, "kB")
            add("server RSS / connection", f.serverRssPerConnectionKb, "kB")
            add("server CPU while idle", f.serverIdleCpuPct, "% of a core")
            add("pings answered", f.pingsAnswered)
        case .echo, .polling:
            add("connections", f.connections)
            add("sent", f.sent)
            add(r.scenario == .echo ? "acks" : "round trips", f.acks ?? f.roundTrips)
            add(r.scenario == .echo ? "acks/s" : "round trips/s", f.acksPerS ?? f.roundTripsPerS)
            add("RTT p50", f.rttP50Ms, "ms")
            add("RTT p90", f.rttP90Ms, "ms")
            add("RTT p99", f.rttP99Ms, "ms")
            add("RTT max", f.rttMaxMs, "ms")
            if (f.skipped ?? 0) > 0 { add("skipped (64 in flight)", f.skipped) }
            add("unanswered", f.unanswered)
            add("server CPU / round trip", f.serverCpuUsPerRoundTrip, "µs")
            add("client CPU / round trip", f.clientCpuUsPerRoundTrip, "µs")
        case .fanout:
            add("subscribers", f.subscribers)
            add("published", f.published)
            add("deliveries", f.deliveries)
            add("expected", f.expectedDeliveries)
            add("lost", f.lost)
            if (f.outOfOrder ?? 0) > 0 { add("out of order", f.outOfOrder) }
            add("deliveries/s", f.deliveriesPerS)
            add("latency p50", f.latencyP50Ms, "ms")
            add("latency p99", f.latencyP99Ms, "ms")
            add("latency max", f.latencyMaxMs, "ms")
            add("latency samples", f.latencySamples)
            add("server CPU / delivery", f.serverCpuUsPerDelivery, "µs")
            add("client CPU / delivery", f.clientCpuUsPerDelivery, "µs")
        }
        if let e = f.errors, e > 0 { add("errors (disconnects)", e) }
        if let c = f.connectFailures, c > 0, r.scenario != .connect { add("connect failures", c) }
        add("measured", f.wallS, "s")
        add("server CPU", r.serverCpuS.map { String(format: "%.2f s (%.2f cores, %.0f%% of the machine)", $0, f.serverCores ?? 0, (r.cpuShare.server ?? 0) * 100) })
        add("client CPU", String(format: "%.2f s (%.2f cores, %.0f%% of the machine)", r.clientCpuS, f.clientCores ?? 0, r.cpuShare.client * 100))
        if r.serverCpuS == nil { rows.append(("server CPU", "— (no --server-pid)")) }

        let width = rows.map { $0.0.count }.max() ?? 10
        var out = header + "\n"
        for (name, value) in rows {
            out += "  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value + "\n"
        }
        out += "  (\(p.cpus) CPUs: \(p.cpuModel))"
        return out
    }
}

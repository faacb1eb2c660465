#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// Clocks, /proc readings, getrusage, CPU affinity and file limits. Linux is the target; the /proc
// readings return nil elsewhere.

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine (Linux), so worker
/// processes' timestamps compare directly.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Wall-clock time in microseconds since the epoch (the `t` of a fan-out message is this / 1000,
/// in milliseconds with three decimals).
@inline(__always)
func realtimeMicros() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec) / 1000
}

enum ProcStats {
    static let clockTicksPerSecond: Double = {
        let t = sysconf(Int32(_SC_CLK_TCK))
        return t > 0 ? Double(t) : 100
    }()

    /// utime + stime of a process (all its threads, dead ones included) from /proc/PID/stat, in seconds.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15 → indexes 11 and 12 here.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / clockTicksPerSecond
    }

    /// VmRSS of a process in kB, from /proc/PID/status.
    static func rssKB(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.dropFirst(6).filter { $0.isNumber }
            return Int(digits)
        }
        return nil
    }

    /// The thread ids of a process (/proc/PID/task).
    static func threadIDs(pid: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return names.compactMap { Int32($0) }
    }

    /// user + system CPU time of this process (all threads) in seconds.
    static func selfCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    /// Online CPUs of the machine.
    static var onlineCPUs: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force.
    @discardableResult
    static func raiseFileLimit() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}

/// taskset-style pinning with sched_setaffinity.
enum Affinity {
    #if os(Linux)
    // Glibc declares sched_{set,get}affinity only under _GNU_SOURCE, which Swift's Glibc module does
    // not define: look the functions up in libc instead. A cpu_set_t is 1024 bits.
    private typealias AffinityFunction = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
    private static let cpuSetBytes = 128

    private static func libc(_ name: String) -> AffinityFunction? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(symbol, to: AffinityFunction.self)
    }

    /// Pins every thread of `pid` (the threads a process makes later inherit the mask of the thread
    /// that makes them). Returns how many threads were pinned.
    @discardableResult
    static func pin(pid: Int32, cpus: [Int]) throws -> Int {
        guard let setAffinity = libc("sched_setaffinity") else { throw BenchError.system("no sched_setaffinity in libc") }
        var words = [UInt64](repeating: 0, count: cpuSetBytes / 8)
        for cpu in cpus where cpu >= 0 && cpu < cpuSetBytes * 8 {
            words[cpu / 64] |= 1 << UInt64(cpu % 64)
        }
        var pinned = 0
        var tids = ProcStats.threadIDs(pid: pid)
        if tids.isEmpty { tids = [pid] }
        for tid in tids {
            let rc = words.withUnsafeMutableBytes { setAffinity(tid, cpuSetBytes, $0.baseAddress!) }
            if rc == 0 {
                pinned += 1
            } else if tid == pid {
                throw BenchError.system("sched_setaffinity(\(pid), CPU \(cpus)) failed: errno \(errno)")
            }
        }
        return pinned
    }

    /// The affinity masks of every thread of `pid`, to give back with `restore`.
    static func save(pid: Int32) -> [(Int32, [UInt64])] {
        guard let getAffinity = libc("sched_getaffinity") else { return [] }
        return ProcStats.threadIDs(pid: pid).compactMap { tid in
            var words = [UInt64](repeating: 0, count: cpuSetBytes / 8)
            let rc = words.withUnsafeMutableBytes { getAffinity(tid, cpuSetBytes, $0.baseAddress!) }
            return rc == 0 ? (tid, words) : nil
        }
    }

    static func restore(_ saved: [(Int32, [UInt64])]) {
        guard let setAffinity = libc("sched_setaffinity") else { return }
        for (tid, mask) in saved {
            var words = mask
            _ = words.withUnsafeMutableBytes { setAffinity(tid, cpuSetBytes, $0.baseAddress!) }
        }
    }

    /// CPUs this process may run on.
    static func allowedCPUCount() -> Int {
        guard let getAffinity = libc("sched_getaffinity") else { return ProcStats.onlineCPUs }
        var words = [UInt64](repeating: 0, count: cpuSetBytes / 8)
        let rc = words.withUnsafeMutableBytes { getAffinity(0, cpuSetBytes, $0.baseAddress!) }
        guard rc == 0 else { return ProcStats.onlineCPUs }
        return max(1, words.reduce(0) { $0 + $1.nonzeroBitCount })
    }
    #else
    static func pin(pid: Int32, cpus: [Int]) throws -> Int { throw BenchError.system("pinning needs Linux") }
    static func save(pid: Int32) -> [(Int32, [UInt64])] { [] }
    static func restore(_ saved: [(Int32, [UInt64])]) {}
    static func allowedCPUCount() -> Int { ProcStats.onlineCPUs }
    #endif
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case system(String)
    case protocolError(String)
    case worker(String)

    var description: String {
        switch self {
        case .usage(let s): return "usage: \(s)"
        case .system(let s): return "system: \(s)"
        case .protocolError(let s): return "protocol: \(s)"
        case .worker(let s): return "worker: \(s)"
        }
    }
}

/// Writes a line to standard error (standard output carries the result, and in a worker the pipe).
func logErr(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

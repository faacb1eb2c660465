import Foundation

/// How the coordinator drives a worker: in this process, or a child `hub-bench worker` over pipes.
protocol WorkerHandle: Sendable {
    func ready() async throws -> ReadyInfo
    func go() async throws
    func stop() async throws -> Int
    func finish(published: Int) async throws -> WorkerResult
    func shutdown() async
}

struct LocalWorkerHandle: WorkerHandle {
    let worker: LoadWorker

    func ready() async throws -> ReadyInfo { try await worker.prepare() }
    func go() async throws { try await worker.go() }
    func stop() async throws -> Int { try await worker.stop() }
    func finish(published: Int) async throws -> WorkerResult { try await worker.finish(published: published) }
    func shutdown() async { await worker.shutdown() }
}

/// One line of the worker protocol (child → parent, JSON per line on the child's stdout).
/// Parent → child commands are plain lines: `go`, `stop`, `finish <published>`, `quit`.
struct WorkerMessage: Codable, Sendable {
    var type: String
    var ready: ReadyInfo?
    var published: Int?
    var result: WorkerResult?
    var error: String?

    func line() -> Data {
        var data = (try? JSONEncoder().encode(self)) ?? Data("{\"type\":\"error\"}".utf8)
        data.append(0x0A)
        return data
    }
}

/// Lines from a file descriptor, read by a thread of their own (blocking reads), as an async stream.
final class LineReader: @unchecked Sendable {
    let lines: AsyncStream<String>

    init(fileHandle: FileHandle) {
        var continuation: AsyncStream<String>.Continuation!
        self.lines = AsyncStream(bufferingPolicy: .unbounded) { continuation = $0 }
        let cont = continuation!
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = fileHandle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = pending[pending.startIndex..<newline]
                    cont.yield(String(decoding: line, as: UTF8.self))
                    pending = Data(pending[(newline + 1)...])
                }
            }
            if !pending.isEmpty { cont.yield(String(decoding: pending, as: UTF8.self)) }
            cont.finish()
        }
        thread.start()
    }
}

/// A child process `hub-bench worker --spec JSON`. The coordinator makes one call at a time on a
/// handle (each waits for its answer), so the iterator is never used concurrently.
final class RemoteWorkerHandle: WorkerHandle, @unchecked Sendable {
    private let process: Process
    private let input: FileHandle
    private var iterator: AsyncStream<String>.Iterator
    private let index: Int

    init(spec: WorkerSpec) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executablePath())
        let specJSON = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        process.arguments = ["worker", "--spec", specJSON]
        let stdinPipe = Pipe()
        let stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        self.input = stdinPipe.fileHandleForWriting
        self.iterator = LineReader(fileHandle: stdoutPipe.fileHandleForReading).lines.makeAsyncIterator()
        self.index = spec.workerIndex
    }

    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private func send(_ command: String) throws {
        do {
            try input.write(contentsOf: Data((command + "\n").utf8))
        } catch {
            throw BenchError.worker("worker \(index) is gone (\(error))")
        }
    }

    private func receive(_ type: String) async throws -> WorkerMessage {
        while true {
            guard let line = await iterator.next() else { break }
            guard let message = try? JSONDecoder().decode(WorkerMessage.self, from: Data(line.utf8)) else {
                logErr("worker \(index): \(line)")
                continue
            }
            if message.type == "error" {
                throw BenchError.worker("worker \(index): \(message.error ?? "failed")")
            }
            if message.type == type { return message }
        }
        throw BenchError.worker("worker \(index) exited before '\(type)'")
    }

    func ready() async throws -> ReadyInfo {
        try await receive("ready").ready ?? ReadyInfo(connected: 0, failed: 0)
    }

    func go() async throws {
        try send("go")
        _ = try await receive("going")
    }

    func stop() async throws -> Int {
        try send("stop")
        return try await receive("stopped").published ?? 0
    }

    func finish(published: Int) async throws -> WorkerResult {
        try send("finish \(published)")
        return try await receive("result").result ?? WorkerResult()
    }

    func shutdown() async {
        try? send("quit")
        _ = try? await receive("bye")
        try? input.close()
        let process = self.process
        // Give it a moment to exit, then make sure it does.
        for _ in 0..<100 where process.isRunning {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// The child side: `hub-bench worker`.
enum WorkerMain {
    static func run(specJSON: String) async -> Int32 {
        let out = FileHandle.standardOutput
        func emit(_ message: WorkerMessage) {
            try? out.write(contentsOf: message.line())
        }
        let worker: LoadWorker
        do {
            let spec = try JSONDecoder().decode(WorkerSpec.self, from: Data(specJSON.utf8))
            ProcStats.raiseFileLimit()
            worker = try LoadWorker(spec: spec)
        } catch {
            emit(WorkerMessage(type: "error", error: "\(error)"))
            return 1
        }
        do {
            let ready = try await worker.prepare()
            emit(WorkerMessage(type: "ready", ready: ready))
            let commands = LineReader(fileHandle: FileHandle.standardInput).lines
            for await command in commands {
                let words = command.split(separator: " ")
                switch words.first {
                case "go":
                    try await worker.go()
                    emit(WorkerMessage(type: "going"))
                case "stop":
                    let published = try await worker.stop()
                    emit(WorkerMessage(type: "stopped", published: published))
                case "finish":
                    let published = words.count > 1 ? Int(words[1]) ?? 0 : 0
                    let result = try await worker.finish(published: published)
                    emit(WorkerMessage(type: "result", result: result))
                case "quit":
                    await worker.shutdown()
                    emit(WorkerMessage(type: "bye"))
                    return 0
                default:
                    break
                }
            }
            // The parent went away.
            await worker.shutdown()
            return 0
        } catch {
            emit(WorkerMessage(type: "error", error: "\(error)"))
            await worker.shutdown()
            return 1
        }
    }
}

// swift-tools-version:6.1
// Micro-benchmarks of the hot path (ordo-one/benchmark, with malloc counts). A package of its own,
// so that `swift build` of the main package never compiles them. Run: `swift package benchmark`
// from this directory (Docs/benchmarks.md).
import PackageDescription

let package = Package(
    name: "RealtimeHubBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "RealtimeHub", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EngineIO", package: "RealtimeHub"),
                .product(name: "SocketIO", package: "RealtimeHub"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)

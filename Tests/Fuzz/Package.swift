// swift-tools-version:6.1
// libFuzzer targets for RealtimeHub's pure decoders. A separate package so that the main package's
// build and tests never see the fuzzer flags. Build and run with ./run.sh (see Docs/reliability.md).
import PackageDescription

let fuzzerDependencies: [Target.Dependency] = [
    "FuzzSupport",
    .product(name: "EngineIO", package: "RealtimeHub"),
    .product(name: "SocketIO", package: "RealtimeHub"),
    .product(name: "NIOCore", package: "swift-nio"),
]

let package = Package(
    name: "RealtimeHubFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "RealtimeHub", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Checks shared by the fuzzers (a failed invariant aborts, which libFuzzer reports as a crash).
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        .executableTarget(name: "FuzzEnginePacket", dependencies: fuzzerDependencies),
        .executableTarget(name: "FuzzEnginePayload", dependencies: fuzzerDependencies),
        .executableTarget(name: "FuzzSocketDecoder", dependencies: fuzzerDependencies),
        .executableTarget(name: "FuzzJSON", dependencies: fuzzerDependencies),
        .executableTarget(
            name: "FuzzStreamMessage",
            dependencies: fuzzerDependencies + [.product(name: "Hub", package: "RealtimeHub")]
        ),
    ]
)

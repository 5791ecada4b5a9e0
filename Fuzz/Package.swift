// swift-tools-version: 6.1
// libFuzzer harnesses for the readers of untrusted files. Kept apart from the main package so its
// `swift build` / `swift test` are unaffected; `make fuzz` in the repository root builds and runs them.
import PackageDescription

let harnessDependencies: [Target.Dependency] = ["FuzzSupport", .product(name: "UniSpeech", package: "unispeech-swift")]

let package = Package(
    name: "unispeech-fuzz",
    dependencies: [.package(name: "unispeech-swift", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "UniSpeech", package: "unispeech-swift")]),
        .executableTarget(name: "FuzzSafetensors", dependencies: harnessDependencies),
        .executableTarget(name: "FuzzUnpickler", dependencies: harnessDependencies),
        .executableTarget(name: "FuzzTorchZip", dependencies: harnessDependencies),
        .executableTarget(name: "FuzzNative", dependencies: harnessDependencies),
        .executableTarget(name: "FuzzConfig", dependencies: harnessDependencies),
    ]
)

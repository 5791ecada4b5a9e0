// swift-tools-version: 6.1
import PackageDescription

// The pipeline as targets: each depends only on the ones before it, so the compiler keeps the layers apart.
//   UniSpeechCore        tensor bytes and sources, dtypes, JSON, checksums, atomic files, errors
//   UniSpeechKernels     the only target importing the compute shims: GEMM engine, conv, norms, attention, int8
//   UniSpeechCheckpoint  safetensors, PyTorch zip + restricted unpickler, sharding, HF directories and cache ids
//   UniSpeechAudio       audio files, resampling, .npy samples
//   UniSpeechModels      configs, modules, loader, heads, feature extraction, tokenizer and decoding
//   UniSpeechFormat      the native .unispeech reader / writer and the quantiser with its rule table
//   UniSpeech            the product: the SpeechModel facade and the tools (run, convert, verify, eval, inspect)
//   unispeech            the command line, one file per subcommand
let package = Package(
    name: "unispeech-swift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "UniSpeech", targets: ["UniSpeech"]),
        .executable(name: "unispeech", targets: ["unispeech"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
        .systemLibrary(name: "CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSndfile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .target(name: "CBytes", dependencies: ["CZlib"]),
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("gomp")]),

        .target(name: "UniSpeechCore", dependencies: ["CJSONC", "CBytes", "CCrypto"]),
        .target(name: "UniSpeechKernels", dependencies: ["UniSpeechCore", "CKernels", "CBytes", "CDNNL", "COpenBLAS"]),
        .target(name: "UniSpeechCheckpoint", dependencies: ["UniSpeechCore", "CZip"]),
        .target(name: "UniSpeechAudio", dependencies: ["UniSpeechCore", "CSndfile", "CSoxr"]),
        .target(name: "UniSpeechModels", dependencies: ["UniSpeechCore", "UniSpeechKernels"]),
        .target(name: "UniSpeechFormat", dependencies: ["UniSpeechCore", "UniSpeechKernels"]),
        .target(
            name: "UniSpeech",
            dependencies: ["UniSpeechCore", "UniSpeechKernels", "UniSpeechCheckpoint", "UniSpeechAudio", "UniSpeechModels",
                           "UniSpeechFormat"]
        ),
        .executableTarget(
            name: "unispeech",
            dependencies: ["UniSpeech", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        .testTarget(name: "CoreTests", dependencies: ["UniSpeechCore", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["UniSpeechKernels", "CKernels", "TestSupport"]),
        .testTarget(name: "CheckpointTests", dependencies: ["UniSpeechCheckpoint", "TestSupport"]),
        .testTarget(name: "AudioTests", dependencies: ["UniSpeechAudio", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["UniSpeechModels", "UniSpeechCheckpoint", "TestSupport"]),
        .testTarget(name: "FormatTests", dependencies: ["UniSpeechFormat", "TestSupport"]),
        .testTarget(name: "UniSpeechTests", dependencies: ["UniSpeech", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["UniSpeechCore"], path: "Tests/TestSupport"),
    ]
)

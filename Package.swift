// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "unispeech-swift",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "UniSpeech", targets: ["UniSpeech"]),
        .executable(name: "unispeech", targets: ["unispeech"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .target(name: "CKernels"),
        .target(name: "CFileIO", dependencies: ["CZlib"]),
        .target(
            name: "UniSpeech",
            dependencies: ["CJSONC", "CZip", "COpenBLAS", "CSndfile", "CSoxr", "CDNNL", "CKernels", "CCrypto", "CZlib", "CFileIO"]
        ),
        .executableTarget(
            name: "unispeech",
            dependencies: [
                "UniSpeech",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "UniSpeechTests",
            dependencies: ["UniSpeech"]
        ),
    ]
)

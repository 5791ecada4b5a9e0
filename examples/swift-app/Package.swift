// swift-tools-version: 6.1
// An app that uses unispeech-swift as a library, through the SpeechModel facade only; `make app` builds and runs it.
import PackageDescription

let package = Package(
    name: "swift-app",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "unispeech-swift", path: "../..")],
    targets: [
        .executableTarget(name: "TranscribeDigits", dependencies: [.product(name: "UniSpeech", package: "unispeech-swift")]),
    ]
)

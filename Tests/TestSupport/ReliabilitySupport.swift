import Foundation
import Testing
import UniSpeechCore

/// Builds safetensors files byte by byte, including broken ones.
public enum SafetensorsBytes {
    /// A file with the header length written as `declaredLength` (the true length when nil).
    public static func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return littleEndian(declaredLength ?? UInt64(headerBytes.count)) + headerBytes + data
    }

    public static func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// Little-endian bytes of f32 values.
    public static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { littleEndian(UInt64($0.bitPattern)).prefix(4) } }

    /// A valid file: one tensor "w", f32, shape [2], values 1 and 2.
    public static let valid = file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: floats([1, 2]))
}

/// Runs the built `unispeech` binary.
public enum CLI {
    /// Result of one run.
    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// True when the process died from a signal (a crash, not an error exit).
        public let crashed: Bool
        /// The stderr lines, without empty ones.
        public var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// The binary next to the test bundle (.build/<config>/unispeech); `swift test` builds it.
    public static func binary() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("unispeech").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        Issue.record("the unispeech binary was not found next to \(CommandLine.arguments[0]); run `swift build` first")
        throw CocoaError(.fileNoSuchFile)
    }

    /// Runs `unispeech arguments...`; with `shellPrefix`, through /bin/sh -c "<prefix>; exec unispeech ...".
    public static func run(_ arguments: [String], shellPrefix: String? = nil, timeout: TimeInterval = 120) throws -> Result {
        let process = Process()
        let binary = try binary()
        if let shellPrefix {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            let quoted = ([binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            process.arguments = ["-c", shellPrefix + "; exec " + quoted.joined(separator: " ")]
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        let outData = Locked(Data()), errData = Locked(Data())
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                sink.set(data)
                group.leave()
            }
        }
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            Issue.record("unispeech \(arguments.joined(separator: " ")) did not finish within \(timeout) s (hang)")
        }
        process.waitUntilExit()
        group.wait()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData.get(), as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self),
                      crashed: process.terminationReason == .uncaughtSignal)
    }
}

/// A value shared between threads under a lock.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

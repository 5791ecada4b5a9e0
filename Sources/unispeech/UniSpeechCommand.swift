import ArgumentParser
import Foundation
import UniSpeech

@main
struct UniSpeechCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unispeech",
        abstract: "Convert, inspect, quantise, verify and run speech encoder models (UniSpeech and its family).",
        version: versionText,
        subcommands: [Inspect.self, Convert.self, Quantize.self, Verify.self, Run.self, Eval.self]
    )

    /// `--version`: the release, then what the kernels see on this machine.
    static var versionText: String {
        let platform = ComputePlatform.current
        return """
            unispeech-swift \(UniSpeechRelease.version)
            cpu features: \(platform.features.isEmpty ? "none" : platform.features.joined(separator: " "))
            oneDNN isa: \(platform.onednnISA) (int8 \(platform.onednnHasVNNI ? "8-bit codes, VNNI" : "7-bit codes, no VNNI"))
            OpenBLAS core: \(platform.openblasCore)\(platform.openblasIsGeneric ? " (generic kernels on an AVX2 CPU: --gemm openblas falls back to oneDNN)" : "")
            threads: \(ProcessInfo.processInfo.activeProcessorCount) by default (--threads)
            """
    }

    /// Exit statuses of the command-line contract.
    enum Status {
        static let checkFailed: Int32 = 1
        static let badInput: Int32 = 2
    }

    /// Runs the command; every error becomes one line on stderr and exit status 2.
    static func main() {
        // A file-size limit hit while writing is then a write error (the atomic writer removes its temp file),
        // not a kill.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as LocalizedError where error.errorDescription != nil {
            Console.error("unispeech: \(error.errorDescription!)")
            Foundation.exit(Status.badInput)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            Console.error(fullMessage(for: error))
            Foundation.exit(Status.badInput)
        }
    }
}

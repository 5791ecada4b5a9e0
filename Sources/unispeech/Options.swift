import ArgumentParser
import Foundation
import UniSpeech

extension WeightFormat: ExpressibleByArgument {}
extension GemmBackend: ExpressibleByArgument {}

/// `--head`: which head to run; `auto` is the one config.json's `architectures` names.
enum HeadChoice: ExpressibleByArgument {
    case auto
    case head(ModelHead)

    init?(argument: String) {
        if argument == "auto" {
            self = .auto
        } else if let head = ModelHead(rawValue: argument) {
            self = .head(head)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ["auto"] + ModelHead.allCases.map(\.rawValue) }

    /// The head asked for, nil for the model's own.
    var head: ModelHead? {
        if case let .head(head) = self { return head }
        return nil
    }
}

/// How a command that runs a model computes: threads and GEMM library.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads for the model's kernels.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "GEMM library: \(GemmBackend.allCases.map(\.rawValue).joined(separator: ", ")).")
    var gemm: GemmBackend = .onednn

    func validate() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    /// The backend to use: OpenBLAS only when its kernels suit this CPU (a generic, SSE-era core on an AVX2 CPU
    /// would run several times slower), else oneDNN with one line saying why.
    var backend: GemmBackend {
        let platform = ComputePlatform.current
        guard gemm == .openblas, platform.openblasIsGeneric else { return gemm }
        Console.error("unispeech: OpenBLAS runs its generic '\(platform.openblasCore)' kernels on this AVX2 CPU; using oneDNN instead")
        return .onednn
    }
}

/// `--json`: output for programs.
struct OutputFormatOptions: ParsableArguments {
    @Flag(help: "Print the report as JSON (see schemas/).")
    var json = false
}

/// Options of the commands that write a native file.
struct WriteOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output .unispeech file.")
    var output: String

    @Flag(help: "Run verify against the source after writing (exit 1 when it fails).")
    var verify = false
}

/// `--target-lang`: an MMS language adapter (Wav2Vec2 models with attention adapters).
struct LanguageOptions: ParsableArguments {
    @Option(name: .customLong("target-lang"), help: ArgumentHelp(
        "Load the model's MMS adapter for this language (adapter.<lang>.safetensors beside a HF model's weights, as transformers' load_adapter); convert builds it into the file.",
        valueName: "lang"))
    var language: String?
}

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

/// A model argument: a path, or a HuggingFace model id (`ORG/NAME[@REVISION]`) looked up in the local hub cache that
/// huggingface_hub would use, never downloaded. Only the command line reads the environment.
enum ModelLocation {
    /// The cache huggingface_hub uses: HF_HUB_CACHE, else the legacy HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
    /// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (a leading ~ expanded, as it does).
    static func cacheRoots(environment: [String: String]) -> [String] {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HOME") ?? FileManager.default.homeDirectoryForCurrentUser.path
        let hubHome = value("HF_HOME") ?? ((value("XDG_CACHE_HOME") ?? home + "/.cache") + "/huggingface")
        let root = value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? hubHome + "/hub"
        return [root == "~" || root.hasPrefix("~/") ? home + root.dropFirst() : root]
    }

    /// The path to open for a model argument (see `HubCache.resolve`).
    static func resolve(_ argument: String) throws -> String {
        try HubCache(roots: cacheRoots(environment: ProcessInfo.processInfo.environment)).resolve(argument)
    }
}

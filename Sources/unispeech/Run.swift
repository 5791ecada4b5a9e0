import ArgumentParser
import Foundation
import UniSpeech

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on audio: transcripts (CTC), labels (classification), or output summaries.")

    /// When this environment variable is set, `run` writes one stderr line `timing: {JSON}` with the load, forward
    /// and per-phase seconds and the engine (benchmarks/run.py reads it).
    static let timingVariable = "UNISPEECH_TIMINGS"
    /// When this environment variable is set, `run` records every kernel operation's time and writes the table
    /// (share, seconds, calls, GFLOP/s, operation) to stderr.
    static let profileVariable = "UNISPEECH_PROFILE"

    @Argument(help: "A HF model directory or a .unispeech file.")
    var model: String

    @Argument(help: """
        Audio files (.wav, .flac, .ogg, any rate, mixed to mono and resampled to the model's rate) or .npy \
        (float32 1-D samples at the model's rate); several form one padded batch.
        """)
    var inputs: [String]

    @Option(help: "Which head to run: \(HeadChoice.allValueStrings.joined(separator: ", ")).")
    var head: HeadChoice = .auto

    @Option(help: "Write the head's outputs (HF names) to this .safetensors file.")
    var output: String?

    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input file") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let report = try ModelRun.run(RunRequest(
            modelPath: model, inputPaths: inputs, head: head.head, outputPath: output, threads: compute.threads,
            gemm: compute.backend, profiling: environment[Self.profileVariable] != nil, progress: Console.progress))
        if environment[Self.timingVariable] != nil { Console.error("timing: " + report.timings.serialized()) }
        if let profile = report.profile { Console.error("profile (forward \(String(format: "%.3f", report.seconds)) s):\n" + profile.table) }
        print(format.json ? report.json.serialized(pretty: true) : report.text)
    }
}

import ArgumentParser
import Foundation
import UniSpeech

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on audio: transcripts (CTC), labels (classification), label segments (frame classification), speaker similarities (x-vector), or output summaries.")

    /// When this environment variable is set, `run` writes one stderr line `timing: {JSON}` with the load, forward
    /// and per-phase seconds and the engine (benchmarks/run.py reads it).
    static let timingVariable = "UNISPEECH_TIMINGS"

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

    @OptionGroup var language: LanguageOptions
    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input file") }
    }

    func run() throws {
        let report = try ModelRun.run(RunRequest(
            modelPath: model, inputPaths: inputs, head: head.head, outputPath: output, threads: compute.threads,
            gemm: compute.backend, targetLanguage: language.language, progress: Console.progress))
        if ProcessInfo.processInfo.environment[Self.timingVariable] != nil {
            Console.error("timing: " + report.timings.serialized())
        }
        print(format.json ? report.json.serialized(pretty: true) : report.text)
    }
}

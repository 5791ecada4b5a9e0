import ArgumentParser
import Foundation
import UniSpeech

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on audio: transcripts (CTC), labels (classification), or output summaries.")

    @Argument(help: "A HF model directory.")
    var model: String

    @Argument(help: """
        Audio files (.wav, .flac, .ogg, any rate, mixed to mono and resampled to the model's rate) or .npy \
        (float32 1-D samples at the model's rate); several form one padded batch.
        """)
    var inputs: [String]

    @Option(help: "auto, or one of: \(ModelHead.allCases.map(\.rawValue).joined(separator: ", ")).")
    var head: String = "auto"

    @Option(help: "Write the head's outputs (HF names) to this .safetensors file.")
    var output: String?

    @Flag(help: "Print the report as JSON (schemas/run-output.schema.json).")
    var json = false

    @Option(help: "Threads for the matrix kernels.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input file") }
        guard head == "auto" || ModelHead(rawValue: head) != nil else {
            throw ValidationError("--head must be auto, \(ModelHead.allCases.map(\.rawValue).joined(separator: ", ")); found '\(head)'")
        }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        let report = try ModelRun.run(RunRequest(
            modelPath: model, inputPaths: inputs, head: ModelHead(rawValue: head), outputPath: output, threads: threads))
        print(json ? report.json.serialized(pretty: true) : report.text)
    }
}

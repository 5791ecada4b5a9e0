import ArgumentParser
import UniSpeech

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score models on a labelled manifest: WER, CER, exact match and CTC loss, or accuracy and confusion.",
        discussion: """
            MANIFEST is JSONL, one {"audio": PATH, "text": ...} (CTC models) or {"audio": PATH, "label": ...} \
            (classifiers) per line, paths relative to the manifest. Each file runs alone through each model; several \
            models (e.g. a HF directory and its f32 and int8 .unispeech files) are compared side by side.
            """)

    @Argument(help: "A JSONL manifest of audio files with their reference text or label.")
    var manifest: String

    @Argument(help: "HF model directories, .unispeech files, or model ids in the local HuggingFace cache (ORG/NAME[@REVISION]).")
    var models: [String]

    @Option(help: "Also write a self-contained HTML report (tables, and the worst utterances' waveforms with each model's CTC tokens).")
    var html: String?

    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one model") }
    }

    func run() throws {
        let report = try ModelEvaluator.evaluate(EvalRequest(
            manifestPath: manifest, modelPaths: try models.map(ModelLocation.resolve), threads: compute.threads, gemm: compute.backend,
            progress: Console.progress))
        if let html { try report.writeHTML(to: html) }
        print(format.json ? report.json.serialized(pretty: true) : report.text)
    }
}

import ArgumentParser
import UniSpeech

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run every head of a candidate and a reference model on the same inputs and compare the outputs.",
        discussion: "Exit status 0 when every threshold is met, 1 when one is missed, 2 on bad input.")

    @Argument(help: "Candidate model: a HF directory, a .unispeech file, or a model id in the local HuggingFace cache (ORG/NAME[@REVISION]).")
    var candidate: String

    @Option(help: "Reference model: a HF directory, a .unispeech file, or a model id in the local HuggingFace cache (ORG/NAME[@REVISION]).")
    var reference: String

    @Option(parsing: .upToNextOption, help: "Audio (.wav, .flac) or .npy inputs; default: built-in test signals.")
    var audio: [String] = []

    @Option(help: "Minimum cosine similarity per output (default by the candidate's dtype).")
    var minCosine: Double?

    @Option(help: "Minimum share of equal argmaxes: CTC frames, codevectors, labels (default by dtype).")
    var minArgmaxAgreement: Double?

    @Flag(help: "Fail when a CTC transcript differs.")
    var requireSameTranscripts = false

    @Flag(help: "Also compare stage by stage (transformers' module paths), accumulated and isolated, and name the first divergent stage.")
    var perLayer = false

    @Option(help: "With --per-layer: minimum isolated cosine similarity per stage (default by dtype).")
    var minStageCosine: Double?

    @Option(name: .customLong("min-stage-sqnr"), help: "With --per-layer: minimum isolated SQNR per stage in dB (default by dtype).")
    var minStageSQNR: Double?

    @Option(help: "With --per-layer: also write a self-contained HTML report (SQNR and cosine against depth, the stage table).")
    var html: String?

    @OptionGroup var language: LanguageOptions
    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard perLayer || (minStageCosine == nil && minStageSQNR == nil && html == nil) else {
            throw ValidationError("--min-stage-cosine, --min-stage-sqnr and --html go with --per-layer")
        }
    }

    func run() throws {
        let report = try ModelVerifier.verify(VerifyRequest(
            candidatePath: try ModelLocation.resolve(candidate), referencePath: try ModelLocation.resolve(reference), audioPaths: audio,
            minCosine: minCosine, minArgmaxAgreement: minArgmaxAgreement, requireSameTranscripts: requireSameTranscripts,
            perLayer: perLayer, minStageCosine: minStageCosine, minStageSQNR: minStageSQNR, threads: compute.threads,
            gemm: compute.backend, targetLanguage: language.language, progress: Console.progress))
        if let html { try report.writeHTML(to: html) }
        print(format.json ? report.json.serialized(pretty: true) : report.text)
        if !report.passed { throw ExitCode(UniSpeechCommand.Status.checkFailed) }
    }

    /// The --verify step of convert and quantize: default thresholds, built-in signals, text report.
    static func afterWriting(candidate: String, reference: String, targetLanguage: String? = nil, compute: ComputeOptions) throws {
        let report = try ModelVerifier.verify(VerifyRequest(
            candidatePath: candidate, referencePath: reference, threads: compute.threads, gemm: compute.backend,
            targetLanguage: targetLanguage, progress: Console.progress))
        print(report.text)
        if !report.passed { throw ExitCode(UniSpeechCommand.Status.checkFailed) }
    }
}

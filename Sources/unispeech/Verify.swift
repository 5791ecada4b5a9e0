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

    @OptionGroup var language: LanguageOptions
    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        let report = try ModelVerifier.verify(VerifyRequest(
            candidatePath: try ModelLocation.resolve(candidate), referencePath: try ModelLocation.resolve(reference), audioPaths: audio, minCosine: minCosine,
            minArgmaxAgreement: minArgmaxAgreement, requireSameTranscripts: requireSameTranscripts,
            threads: compute.threads, gemm: compute.backend, targetLanguage: language.language, progress: Console.progress))
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

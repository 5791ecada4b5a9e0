import ArgumentParser
import UniSpeech

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert", abstract: "Convert a HF checkpoint directory into one .unispeech file.")

    @Argument(help: "HF model directory (config.json plus safetensors or pytorch_model.bin weights) or a model id in the local HuggingFace cache (ORG/NAME[@REVISION]).")
    var hfDirectory: String

    @Option(help: "How to store the weights: \(WeightFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dtype: WeightFormat = .f32

    @OptionGroup var language: LanguageOptions
    @OptionGroup var write: WriteOptions
    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        let hfDirectory = try ModelLocation.resolve(hfDirectory)
        let result = try NativeConversion.convert(hfDirectory: hfDirectory, to: write.output, format: dtype,
                                                  targetLanguage: language.language, progress: Console.progress)
        print(format.json ? result.json.serialized(pretty: true) : result.text)
        if write.verify {
            try Verify.afterWriting(candidate: write.output, reference: hfDirectory, targetLanguage: language.language, compute: compute)
        }
    }
}

import ArgumentParser
import UniSpeech

extension WeightFormat: ExpressibleByArgument {}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert", abstract: "Convert a HF checkpoint directory into one .unispeech file.")

    @Argument(help: "HF model directory (config.json plus safetensors or pytorch_model.bin weights).")
    var hfDirectory: String

    @Option(name: .shortAndLong, help: "Output .unispeech file.")
    var output: String

    @Option(help: "How to store the weights: \(WeightFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dtype: WeightFormat = .f32

    @Flag(help: "Run verify against the source after writing (exit 1 when it fails).")
    var verify = false

    func run() throws {
        let result = try NativeConversion.convert(hfDirectory: hfDirectory, to: output, format: dtype)
        print(result.text)
        if verify { try Verify.afterWriting(candidate: output, reference: hfDirectory) }
    }
}

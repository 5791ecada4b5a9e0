import ArgumentParser
import UniSpeech

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize", abstract: "Store a .unispeech file's weights as f16 or int8 and print the error introduced.")

    @Argument(help: "Input .unispeech file.")
    var input: String

    @Option(name: .shortAndLong, help: "Output .unispeech file.")
    var output: String

    @Option(help: "f16 or int8.")
    var dtype: WeightFormat

    @Flag(help: "Run verify against the source after writing (exit 1 when it fails).")
    var verify = false

    func validate() throws {
        guard dtype != .f32 else { throw ValidationError("--dtype must be f16 or int8") }
    }

    func run() throws {
        let result = try NativeConversion.quantize(native: input, to: output, format: dtype)
        print(result.text)
        if verify { try Verify.afterWriting(candidate: output, reference: input) }
    }
}

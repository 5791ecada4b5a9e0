import ArgumentParser
import UniSpeech

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize", abstract: "Store a .unispeech file's weights as f16 or int8 and print the error introduced.")

    @Argument(help: "Input .unispeech file.")
    var input: String

    @Option(help: "f16 or int8.")
    var dtype: WeightFormat

    @OptionGroup var write: WriteOptions
    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        guard dtype != .f32 else { throw ValidationError("--dtype must be f16 or int8") }
    }

    func run() throws {
        let result = try NativeConversion.quantize(native: input, to: write.output, format: dtype, progress: Console.progress)
        print(format.json ? result.json.serialized(pretty: true) : result.text)
        if write.verify { try Verify.afterWriting(candidate: write.output, reference: input, compute: compute) }
    }
}

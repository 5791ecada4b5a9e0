import ArgumentParser
import UniSpeech

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's architecture, config, parameter count, sizes by dtype and tensors.")

    @Argument(help: "A HF model directory, a .safetensors / .bin file, a shard index .json, a .unispeech file, or a model id in the local HuggingFace cache (ORG/NAME[@REVISION]).")
    var path: String

    @OptionGroup var format: OutputFormatOptions

    @Flag(help: "List every tensor: name, dtype, shape, bytes.")
    var tensors = false

    @Flag(help: "For a .unispeech file: recompute every tensor's crc32 and fail on a damaged one.")
    var check = false

    func run() throws {
        let report = InspectReport(try Inspector.open(path: try ModelLocation.resolve(path), checkChecksums: check))
        print(format.json ? report.json().serialized(pretty: true) : report.text(includeTensors: tensors))
    }
}

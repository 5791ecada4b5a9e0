import Foundation

/// convert (HF directory -> native) and quantize (native -> native), one tensor at a time.
public enum NativeConversion {
    /// Converts the HF checkpoint in `directory` into the native file `output`.
    @discardableResult
    public static func convert(hfDirectory directory: String, to output: String, format: WeightFormat,
                               progress: ProgressHandler? = nil) throws -> ConversionResult {
        let checkpoint = try HFCheckpoint.open(directory: directory)
        let names = checkpoint.files
        let paths = names.map { directory + "/" + $0 }
        let hashing = try BackgroundFileDigests(paths: paths)
        func source(digests: [String]) -> JSONValue {
            .object([
                ("kind", .string("huggingface")),
                ("directory", .string(URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent)),
                ("files", describeFiles(names: names, sizes: hashing.sizes, digests: digests)),
            ])
        }
        let config = try UniSpeechConfig(json: checkpoint.config, source: checkpoint.configPath)
        let weights = try CanonicalTensorSource(checkpoint.weights.source)
        let contents = ModelContents(
            architecture: architecture(config: config, tensors: weights.tensors), config: checkpoint.config,
            sidecars: checkpoint.sidecars, source: source(digests: hashing.placeholders), weights: weights, inputFiles: paths)
        return try NativeModelWriter.write(contents, to: output, format: format, finalSource: { source(digests: hashing.wait()) },
                                           progress: progress)
    }

    /// Re-stores the native file `input` with `format` into `output` (i8 inputs are dequantised first).
    @discardableResult
    public static func quantize(native input: String, to output: String, format: WeightFormat,
                                progress: ProgressHandler? = nil) throws -> ConversionResult {
        let reader = try NativeReader(path: input)
        let header = reader.header
        let hashing = try BackgroundFileDigests(paths: [input])
        func source(digests: [String]) -> JSONValue {
            .object([
                ("kind", .string("unispeech")),
                ("files", describeFiles(names: [URL(fileURLWithPath: input).lastPathComponent], sizes: hashing.sizes, digests: digests)),
                ("derived_from", header.source),
            ])
        }
        let contents = ModelContents(
            architecture: header.architecture, config: header.config, sidecars: header.sidecars,
            source: source(digests: hashing.placeholders), weights: DequantizedTensorSource(reader), inputFiles: [input])
        return try NativeModelWriter.write(contents, to: output, format: format, finalSource: { source(digests: hashing.wait()) },
                                           progress: progress)
    }

    /// The HF class name: `architectures[0]` from the config, else the head its tensor names show.
    static func architecture(config: UniSpeechConfig, tensors: [TensorInfo]) -> String {
        config.architectures.first ?? (ModelHead.present(in: tensors.map(\.name)).last ?? .base).architecture
    }

    /// [{name, bytes, sha256}] of the source files.
    static func describeFiles(names: [String], sizes: [Int], digests: [String]) -> JSONValue {
        .array(zip(names, zip(sizes, digests)).map { name, file in
            .object([("name", .string(name)), ("bytes", .int(Int64(file.0))), ("sha256", .string(file.1))])
        })
    }
}

import Foundation

/// convert (HF directory -> native) and quantize (native -> native), one tensor at a time.
public enum NativeConversion {
    /// Converts the HF checkpoint in `directory` into the native file `output`; with `targetLanguage`, that language's
    /// MMS adapter is built in (`LanguageAdapter`).
    @discardableResult
    public static func convert(hfDirectory directory: String, to output: String, format: WeightFormat,
                               targetLanguage: String? = nil, progress: ProgressHandler? = nil) throws -> ConversionResult {
        let (bundle, checkpoint, adapterFile) = try ModelBundle.openHF(directory: directory, targetLanguage: targetLanguage)
        let names = checkpoint.files + (adapterFile.map { [$0] } ?? [])
        let paths = names.map { directory + "/" + $0 }
        let hashing = try BackgroundFileDigests(paths: paths)
        func source(digests: [String]) -> JSONValue {
            .object([
                ("kind", .string("huggingface")),
                ("directory", .string(URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent)),
                ("files", describeFiles(names: names, sizes: hashing.sizes, digests: digests)),
            ])
        }
        let config = bundle.config
        let weights = StorableTensors(bundle.weights, family: config.family)
        let contents = ModelContents(
            architecture: architecture(config: config, tensors: weights.tensors), modelType: config.family.rawValue,
            targetLanguage: bundle.targetLanguage, config: config.raw, sidecars: bundle.sidecars,
            source: source(digests: hashing.placeholders), weights: weights, inputFiles: paths)
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
            architecture: header.architecture, modelType: header.modelType, targetLanguage: header.targetLanguage,
            config: header.config, sidecars: header.sidecars,
            source: source(digests: hashing.placeholders), weights: DequantizedTensorSource(reader), inputFiles: [input])
        return try NativeModelWriter.write(contents, to: output, format: format, finalSource: { source(digests: hashing.wait()) },
                                           progress: progress)
    }

    /// The HF class name: `architectures[0]` from the config, else the family's class of the head its tensor names show.
    static func architecture(config: UniSpeechConfig, tensors: [TensorInfo]) -> String {
        config.architectures.first ?? config.family.architecture(of: ModelHead.present(in: tensors.map(\.name)).last ?? .base)
    }

    /// [{name, bytes, sha256}] of the source files.
    static func describeFiles(names: [String], sizes: [Int], digests: [String]) -> JSONValue {
        .array(zip(names, zip(sizes, digests)).map { name, file in
            .object([("name", .string(name)), ("bytes", .int(Int64(file.0))), ("sha256", .string(file.1))])
        })
    }
}

/// The tensors of a checkpoint a native file stores: a tensor that eval never reads and that is not floating point
/// (HuBERT's i64 `num_batches_tracked`) is left out; any other non-float tensor is still refused by the writer.
struct StorableTensors: TensorSource {
    let base: any TensorSource
    let tensors: [TensorInfo]

    var sourceDescription: String { base.sourceDescription }

    init(_ base: any TensorSource, family: ModelFamily) {
        self.base = base
        tensors = base.tensors.filter { $0.dtype.isFloatingPoint || !KeyMap.isIgnorableInEval($0.name, family: family) }
    }

    func bytes(of name: String) throws -> TensorBytes { try base.bytes(of: name) }
}

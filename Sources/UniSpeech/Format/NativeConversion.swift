import Foundation

/// A model ready to be written: metadata for the header and weights under canonical names.
public struct ModelContents: Sendable {
    public var architecture: String
    public var config: JSONValue
    public var preprocessorConfig: JSONValue?
    public var vocabulary: JSONValue?
    public var tokenizerConfig: JSONValue?
    public var specialTokens: JSONValue?
    /// The header's `source` object.
    public var source: JSONValue
    /// Float weights; i8 weights must already be shown dequantised (`DequantizedTensorSource`).
    public var weights: any TensorSource
    /// Every file the contents were read from (an output may not overwrite them).
    public var inputFiles: [String]
}

/// What a conversion wrote and the error each quantised tensor took on.
public struct ConversionResult: Sendable {
    public var path: String
    public var header: NativeHeader
    public var reports: [QuantizedTensorReport]
    public var fileSize: Int
}

/// convert (HF directory -> native) and quantize (native -> native), one tensor at a time.
public enum NativeConversion {
    /// Converts the HF checkpoint in `directory` into the native file `output`.
    @discardableResult
    public static func convert(hfDirectory directory: String, to output: String, format: WeightFormat) throws -> ConversionResult {
        let checkpoint = try HFCheckpoint.open(directory: directory)
        let names = (["config.json"] + Inspector.sidecarFiles).filter { FileManager.default.fileExists(atPath: directory + "/" + $0) }
            + checkpoint.weightFiles
        let paths = names.map { directory + "/" + $0 }
        let hashing = try BackgroundFileDigests(paths: paths)
        func source(digests: [String]) -> JSONValue {
            .object([
                ("kind", .string("huggingface")),
                ("directory", .string(URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent)),
                ("files", describeFiles(names: names, sizes: hashing.sizes, digests: digests)),
            ])
        }
        let contents = ModelContents(
            architecture: architecture(config: checkpoint.config, tensors: checkpoint.weights.tensors),
            config: checkpoint.config.raw, preprocessorConfig: checkpoint.preprocessorConfig,
            vocabulary: checkpoint.vocabulary, tokenizerConfig: checkpoint.tokenizerConfig,
            specialTokens: checkpoint.specialTokens, source: source(digests: hashing.placeholders), weights: checkpoint.weights,
            inputFiles: paths)
        return try write(contents, to: output, format: format, finalSource: { source(digests: hashing.wait()) })
    }

    /// Re-stores the native file `input` with `format` into `output` (i8 inputs are dequantised first).
    @discardableResult
    public static func quantize(native input: String, to output: String, format: WeightFormat) throws -> ConversionResult {
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
            architecture: header.architecture, config: header.config, preprocessorConfig: header.preprocessorConfig,
            vocabulary: header.vocabulary, tokenizerConfig: header.tokenizerConfig, specialTokens: header.specialTokens,
            source: source(digests: hashing.placeholders), weights: DequantizedTensorSource(reader), inputFiles: [input])
        return try write(contents, to: output, format: format, finalSource: { source(digests: hashing.wait()) })
    }

    /// Writes `contents` to `output`, each tensor stored as `QuantizationRule` says for `format`.
    /// `finalSource`, when given, replaces `contents.source` once the tensor data is written (for digests
    /// computed meanwhile); it must serialise to the same length.
    @discardableResult
    public static func write(_ contents: ModelContents, to output: String, format: WeightFormat,
                             finalSource: (() -> JSONValue)? = nil) throws -> ConversionResult {
        let weights = contents.weights
        let sourceName = weights.sourceDescription
        let storages = weights.tensors.map { QuantizationRule.storage(for: $0.name, format: format) }
        let plan = try plan(weights.tensors, format: format, source: sourceName)

        var reports: [QuantizedTensorReport] = []
        let header = NativeHeader(
            architecture: contents.architecture, weightFormat: format, config: contents.config,
            preprocessorConfig: contents.preprocessorConfig, vocabulary: contents.vocabulary,
            tokenizerConfig: contents.tokenizerConfig, specialTokens: contents.specialTokens, source: contents.source)
        let written = try NativeWriter.write(to: output, inputs: contents.inputFiles, header: header, plan: plan,
                                             completeHeader: { if let finalSource { $0.source = finalSource() } }) { index in
            let info = weights.tensors[index]
            Console.progress("[\(index + 1)/\(plan.count)] \(info.name)")
            if storages[index] == .f32 && info.dtype == .f32 { return [try weights.bytes(of: info.name)] }
            let encoded = try TensorQuantizer.encode(try weights.floats(info.name), info: info, storage: storages[index],
                                                     source: sourceName)
            if let report = encoded.report { reports.append(report) }
            return encoded.buffers
        }
        Console.progressDone()
        let size = ((try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? NSNumber)?.intValue ?? 0
        return ConversionResult(path: output, header: written, reports: reports, fileSize: size)
    }

    /// The tensors a native file in `format` holds for `tensors`, one group per source tensor
    /// (an int8 weight and its scales form one group).
    public static func plan(_ tensors: [TensorInfo], format: WeightFormat, source: String) throws -> [[PlannedTensor]] {
        var plan: [[PlannedTensor]] = []
        var planned = Set<String>()
        for info in tensors {
            guard info.dtype.isFloatingPoint else {
                throw NativeFormatError.unsupportedDType(source: source, name: info.name, dtype: info.dtype)
            }
            let storage = QuantizationRule.storage(for: info.name, format: format)
            var group = [PlannedTensor(info: TensorInfo(name: info.name, dtype: storage.dtype, shape: info.shape))]
            if storage == .int8PerOutputChannel {
                _ = try TensorQuantizer.outputChannels(info, source: source)
                let scaleName = info.name + NativeFormat.scaleSuffix
                group[0].scaleTensor = scaleName
                group.append(PlannedTensor(info: TensorInfo(name: scaleName, dtype: .f32, shape: [info.shape[0]])))
            }
            for tensor in group where !planned.insert(tensor.info.name).inserted {
                throw NativeFormatError.badTensor(path: source, name: tensor.info.name,
                                                  reason: "the name is used twice once scale tensors are added")
            }
            plan.append(group)
        }
        return plan
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

import Foundation
import UniSpeechCore

/// A model ready to be written: metadata for the header and weights under canonical names.
public struct ModelContents: Sendable {
    public var architecture: String
    /// The family (`model_type`) for the header.
    public var modelType: String?
    /// The MMS language built into the weights, for the header.
    public var targetLanguage: String?
    public var config: JSONValue
    public var sidecars: ModelSidecars
    /// The header's `source` object.
    public var source: JSONValue
    /// Float weights; i8 weights must already be shown dequantised (`DequantizedTensorSource`).
    public var weights: any TensorSource
    /// Every file the contents were read from (an output may not overwrite them).
    public var inputFiles: [String]

    public init(architecture: String, modelType: String? = nil, targetLanguage: String? = nil, config: JSONValue,
                sidecars: ModelSidecars, source: JSONValue, weights: any TensorSource, inputFiles: [String]) {
        self.architecture = architecture
        self.modelType = modelType
        self.targetLanguage = targetLanguage
        self.config = config
        self.sidecars = sidecars
        self.source = source
        self.weights = weights
        self.inputFiles = inputFiles
    }
}

/// What a conversion wrote and the error each quantised tensor took on.
public struct ConversionResult: Sendable {
    public var path: String
    public var header: NativeHeader
    public var reports: [QuantizedTensorReport]
    public var fileSize: Int
}

/// Writes a model's contents as a native file, each tensor stored as `QuantizationRule` says, one at a time.
public enum NativeModelWriter {
    /// Writes `contents` to `output`, each tensor stored as `QuantizationRule` says for `format`.
    /// `finalSource`, when given, replaces `contents.source` once the tensor data is written (for digests
    /// computed meanwhile); it must serialise to the same length.
    @discardableResult
    public static func write(_ contents: ModelContents, to output: String, format: WeightFormat,
                             finalSource: (() -> JSONValue)? = nil, progress: ProgressHandler? = nil) throws -> ConversionResult {
        let weights = contents.weights
        let sourceName = weights.sourceDescription
        let storages = weights.tensors.map { QuantizationRule.storage(for: $0.name, format: format) }
        let plan = try plan(weights.tensors, format: format, source: sourceName)

        var reports: [QuantizedTensorReport] = []
        var header = NativeHeader(
            architecture: contents.architecture, weightFormat: format, config: contents.config, sidecars: contents.sidecars,
            source: contents.source)
        header.modelType = contents.modelType
        header.targetLanguage = contents.targetLanguage
        let written = try NativeWriter.write(to: output, inputs: contents.inputFiles, header: header, plan: plan,
                                             completeHeader: { if let finalSource { $0.source = finalSource() } }) { index in
            let info = weights.tensors[index]
            progress?(.step("[\(index + 1)/\(plan.count)] \(info.name)"))
            if storages[index] == .f32 && info.dtype == .f32 { return [try weights.bytes(of: info.name)] }
            let encoded = try TensorQuantizer.encode(try weights.floats(info.name), info: info, storage: storages[index],
                                                     source: sourceName)
            if let report = encoded.report { reports.append(report) }
            return encoded.buffers
        }
        progress?(.finished)
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
                let scaleName = QuantizedTensorNaming.scaleName(of: info.name)
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
}

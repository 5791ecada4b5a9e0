import Foundation
import UniSpeechCore
import UniSpeechKernels

/// Why a tensor could not be stored in the requested form.
public enum QuantizeError: LocalizedError, Equatable {
    case nonFinite(source: String, name: String)
    case outOfF16Range(source: String, name: String, maxAbs: Float)
    case noOutputChannels(source: String, name: String, shape: [Int])

    public var errorDescription: String? {
        switch self {
        case let .nonFinite(source, name): return "\(source): tensor '\(name)' holds NaN or infinite values"
        case let .outOfF16Range(source, name, maxAbs):
            return "\(source): tensor '\(name)' has values up to \(maxAbs), beyond the f16 range (65504); store it as f32"
        case let .noOutputChannels(source, name, shape):
            return "\(source): tensor '\(name)' has shape \(shape); int8 per-output-channel needs an [out, in] or [out, in, kernel] weight"
        }
    }
}

/// The error one stored form introduced into one tensor.
public struct QuantizedTensorReport: Sendable, Equatable {
    public var name: String
    public var storage: TensorStorage
    public var shape: [Int]
    /// max |original - stored|.
    public var maxAbsError: Float
    /// ||original - stored||_2 / ||original||_2 (0 for an all-zero tensor).
    public var relativeError: Double
}

/// Encodes f32 values as f16 or symmetric per-output-channel int8, and back.
public enum TensorQuantizer {
    /// The stored buffers of one tensor (the tensor, then its scales for int8) and the error introduced.
    public static func encode(_ values: [Float], info: TensorInfo, storage: TensorStorage,
                              source: String) throws -> (buffers: [TensorBytes], report: QuantizedTensorReport?) {
        guard let maxAbs = WeightQuantization.finiteMaxAbs(values) else {
            throw QuantizeError.nonFinite(source: source, name: info.name)
        }
        switch storage {
        case .f32:
            return ([TensorBytes(values: values)], nil)
        case .f16:
            guard maxAbs <= Float(Float16.greatestFiniteMagnitude) else {
                throw QuantizeError.outOfF16Range(source: source, name: info.name, maxAbs: maxAbs)
            }
            let halves = HalfPrecision.encode(values)
            let report = measure(values, TensorBytes(values: halves).floats(as: .f16), info: info, storage: storage)
            return ([TensorBytes(values: halves)], report)
        case .int8PerOutputChannel:
            let (rows, columns) = try outputChannels(info, source: source)
            let (quantized, scales) = WeightQuantization.symmetricInt8(values, rows: rows, columns: columns)
            let decoded = WeightQuantization.dequantize(quantized, scales: scales, columns: columns)
            let report = measure(values, decoded, info: info, storage: storage)
            return ([TensorBytes(values: quantized), TensorBytes(values: scales)], report)
        }
    }

    /// (output channels, values per channel) of a weight stored int8 per output channel: [out, in] or
    /// [out, in, kernel], one scale per `out` over the rest.
    public static func outputChannels(_ info: TensorInfo, source: String) throws -> (rows: Int, columns: Int) {
        guard info.shape.count == 2 || info.shape.count == 3 else {
            throw QuantizeError.noOutputChannels(source: source, name: info.name, shape: info.shape)
        }
        return (info.shape[0], info.shape.dropFirst().reduce(1, *))
    }

    private static func measure(_ original: [Float], _ stored: [Float], info: TensorInfo,
                                storage: TensorStorage) -> QuantizedTensorReport {
        let error = WeightQuantization.error(original: original, stored: stored)
        return QuantizedTensorReport(name: info.name, storage: storage, shape: info.shape,
                                     maxAbsError: error.maxAbs, relativeError: error.relative)
    }
}

/// A source that shows every i8 weight with a `<name>.scale` tensor as its dequantised f32 values,
/// and hides the scale tensors; f16 and f32 tensors pass through unchanged.
public struct DequantizedTensorSource: TensorSource {
    public let base: any TensorSource
    public let tensors: [TensorInfo]
    private let scaled: Set<String>

    public var sourceDescription: String { base.sourceDescription }

    public init(_ base: any TensorSource) {
        self.base = base
        let names = Set(base.tensors.map(\.name))
        let scaled = Set(base.tensors.filter { $0.dtype == .i8 && names.contains(QuantizedTensorNaming.scaleName(of: $0.name)) }.map(\.name))
        let scales = Set(scaled.map(QuantizedTensorNaming.scaleName(of:)))
        self.scaled = scaled
        tensors = base.tensors.compactMap { info in
            if scales.contains(info.name) { return nil }
            return scaled.contains(info.name) ? TensorInfo(name: info.name, dtype: .f32, shape: info.shape) : info
        }
    }

    public func bytes(of name: String) throws -> TensorBytes {
        guard scaled.contains(name) else { return try base.bytes(of: name) }
        let quantized = try base.bytes(of: name).load(as: Int8.self)
        let scales = try base.bytes(of: QuantizedTensorNaming.scaleName(of: name)).load(as: Float.self)
        let columns = scales.isEmpty ? 0 : quantized.count / scales.count
        return TensorBytes(values: WeightQuantization.dequantize(quantized, scales: scales, columns: columns))
    }
}

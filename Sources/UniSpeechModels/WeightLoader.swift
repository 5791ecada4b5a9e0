import Foundation
import UniSpeechCore
import UniSpeechKernels

/// Why a model could not be built from its weights or run on an input.
public enum ModelError: LocalizedError, Equatable {
    case missingTensor(source: String, name: String)
    case unexpectedTensors(source: String, names: [String])
    case wrongShape(source: String, name: String, expected: [Int], found: [Int])
    case unsupportedDType(source: String, name: String, dtype: DType, reason: String)
    case headNotAvailable(model: String, head: String, available: [String])
    case emptyBatch
    case inputTooShort(index: Int, samples: Int)
    case noFramesLeft(stage: String, frames: Int)

    public var errorDescription: String? {
        switch self {
        case let .missingTensor(source, name): return "\(source): tensor '\(name)' is missing"
        case let .unexpectedTensors(source, names):
            return "\(source): unexpected tensor\(names.count == 1 ? "" : "s") \(names.map { "'\($0)'" }.joined(separator: ", ")) (not part of this model)"
        case let .wrongShape(source, name, expected, found):
            return "\(source): tensor '\(name)' has shape \(found), expected \(expected) from the config"
        case let .unsupportedDType(source, name, dtype, reason):
            return "\(source): tensor '\(name)' has dtype \(dtype.rawValue), \(reason)"
        case let .headNotAvailable(model, head, available):
            return "\(model): the model has no '\(head)' head (available: \(available.joined(separator: ", ")))"
        case .emptyBatch: return "no input to run"
        case let .inputTooShort(index, samples):
            return "input \(index + 1) has \(samples) samples, too short to give one frame"
        case let .noFramesLeft(stage, frames):
            return "the \(stage) leave no frames of the longest input's \(frames); give a longer input"
        }
    }
}

/// Reads model weights by canonical name with shape checks, and remembers which were read so that
/// `checkAllUsed` can reject any tensor the model does not know.
final class WeightLoader {
    let source: any TensorSource
    /// Whose checkpoint it is: decides which unread tensors are ignorable.
    let family: ModelFamily
    private let infos: [String: TensorInfo]
    private var used: Set<String> = []

    init(_ source: any TensorSource, family: ModelFamily) {
        self.source = source
        self.family = family
        infos = Dictionary(source.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func info(_ name: String, shape: [Int]) throws -> TensorInfo {
        guard let info = infos[name] else {
            throw ModelError.missingTensor(source: source.sourceDescription, name: name)
        }
        guard info.shape == shape else {
            throw ModelError.wrongShape(source: source.sourceDescription, name: name, expected: shape, found: info.shape)
        }
        used.insert(name)
        return info
    }

    /// A float tensor of `shape` as f32: f32 in place when aligned, f16 / bf16 converted.
    func floats(_ name: String, shape: [Int]) throws -> FloatStorage {
        let info = try info(name, shape: shape)
        let bytes = try source.bytes(of: name)
        switch info.dtype {
        case .f32:
            return FloatStorage(f32: bytes)
        case .f16, .bf16:
            return FloatStorage(bytes.floats(as: info.dtype))
        default:
            throw ModelError.unsupportedDType(source: source.sourceDescription, name: name, dtype: info.dtype,
                                              reason: "expected f32, f16 or bf16 (i8 only for linear and conv weights with a '\(QuantizedTensorNaming.scaleSuffix)' tensor)")
        }
    }

    /// `prefix.weight` [out, in] (f32, f16 kept as f16, bf16, or i8 with `prefix.weight.scale` [out]) and `prefix.bias` [out].
    func linear(_ prefix: String, out: Int, in inFeatures: Int, bias: Bool = true) throws -> LinearWeights {
        let name = prefix + ".weight"
        let stored: StoredMatrix
        if infos[name]?.dtype == .i8 {
            _ = try info(name, shape: [out, inFeatures])
            let scales = try floats(QuantizedTensorNaming.scaleName(of: name), shape: [out])
            stored = .int8(values: try source.bytes(of: name), scales: scales.array)
        } else if infos[name]?.dtype == .f16, case let bytes = try source.bytes(of: name),
                  bytes.isAligned(to: MemoryLayout<UInt16>.alignment) {
            _ = try info(name, shape: [out, inFeatures])
            stored = .half(bytes)
        } else {
            stored = .float(try floats(name, shape: [out, inFeatures]))
        }
        let biasValues = bias ? try floats(prefix + ".bias", shape: [out]) : nil
        return LinearWeights(stored, bias: biasValues, outFeatures: out, inFeatures: inFeatures)
    }

    /// `prefix.weight` [out, in / groups, kernel] (f32 / f16 / bf16, or i8 with `prefix.weight.scale` [out] when
    /// `allowInt8` and the conv is plain) and, when `bias`, `prefix.bias` [out].
    func conv(_ prefix: String, inChannels: Int, outChannels: Int, geometry: ConvGeometry, groups: Int = 1, bias: Bool,
              allowInt8: Bool = false) throws -> ConvWeights {
        let name = prefix + ".weight", shape = [outChannels, inChannels / groups, geometry.kernel]
        let biasValues = bias ? try floats(prefix + ".bias", shape: [outChannels]) : nil
        if allowInt8, groups == 1, infos[name]?.dtype == .i8 {
            _ = try info(name, shape: shape)
            let scales = try floats(QuantizedTensorNaming.scaleName(of: name), shape: [outChannels])
            return ConvWeights(int8Weight: try source.bytes(of: name), scales: scales.array, bias: biasValues,
                               inChannels: inChannels, outChannels: outChannels, geometry: geometry)
        }
        return ConvWeights(torchWeight: try floats(name, shape: shape), bias: biasValues, inChannels: inChannels,
                           outChannels: outChannels, geometry: geometry, groups: groups)
    }

    /// A conv's `prefix.weight` (torch layout [out, in, kernel]: f32 / f16 / bf16, or i8 with `prefix.weight.scale`
    /// [out]) and `prefix.bias` [out] as the linear map of its input windows: weight [out, kernel * in] in window
    /// order (`KernelContext.unfold`), so every stored form runs as a linear layer.
    func convWindows(_ prefix: String, inChannels: Int, outChannels: Int, kernel: Int) throws -> LinearWeights {
        let name = prefix + ".weight", shape = [outChannels, inChannels, kernel]
        let stored: StoredMatrix
        if infos[name]?.dtype == .i8 {
            _ = try info(name, shape: shape)
            let scales = try floats(QuantizedTensorNaming.scaleName(of: name), shape: [outChannels])
            let values = try source.bytes(of: name).load(as: Int8.self)
            stored = .int8(values: TensorBytes(values: convWindowOrder(values, inputs: inChannels, kernel: kernel)),
                           scales: scales.array)
        } else {
            let values = try floats(name, shape: shape).array
            stored = .float(FloatStorage(convWindowOrder(values, inputs: inChannels, kernel: kernel)))
        }
        return LinearWeights(stored, bias: try floats(prefix + ".bias", shape: [outChannels]), outFeatures: outChannels,
                             inFeatures: kernel * inChannels)
    }

    /// `prefix.weight` and `prefix.bias`, both [size].
    func norm(_ prefix: String, size: Int, epsilon: Double) throws -> NormWeights {
        NormWeights(weight: try floats(prefix + ".weight", shape: [size]), bias: try floats(prefix + ".bias", shape: [size]),
                    epsilon: Float(epsilon))
    }

    /// Fails naming every tensor that was not read and is not ignorable in eval.
    func checkAllUsed() throws {
        let unexpected = infos.keys.filter { name in
            !used.contains(name) && !KeyMap.isIgnorableInEval(name, family: family)
        }.sorted()
        guard unexpected.isEmpty else {
            throw ModelError.unexpectedTensors(source: source.sourceDescription, names: unexpected)
        }
    }
}

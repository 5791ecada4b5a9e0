import Foundation

/// Name, element type and shape of one stored tensor.
public struct TensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The product of `shape`, nil when it overflows (or a dimension is negative).
    public static func checkedElementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard dim >= 0, !overflow else { return nil }
            count = product
        }
        return count
    }
    public var byteCount: Int { elementCount * dtype.size }
}

/// Lazily named tensors: metadata up front, bytes on demand. Readers produce it;
/// writers, quantisers and the model loader consume it.
public protocol TensorSource: Sendable {
    /// What this source reads, for error messages ("model.safetensors", a directory ...).
    var sourceDescription: String { get }
    /// Every tensor, in a stable order.
    var tensors: [TensorInfo] { get }
    /// The tensor's raw little-endian bytes (mapped from the file where possible).
    func bytes(of name: String) throws -> TensorBytes
}

/// Why a tensor could not be read from a source.
public enum TensorSourceError: LocalizedError, Equatable {
    case missingTensor(source: String, name: String)
    case notFloat(source: String, name: String, dtype: DType)

    public var errorDescription: String? {
        switch self {
        case let .missingTensor(source, name): return "\(source): tensor '\(name)' is missing"
        case let .notFloat(source, name, dtype):
            return "\(source): tensor '\(name)' has dtype \(dtype.rawValue), expected a floating-point type"
        }
    }
}

extension TensorSource {
    public func info(_ name: String) -> TensorInfo? { tensors.first { $0.name == name } }

    /// The tensor converted to f32, whatever float type it is stored in.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = info(name) else {
            throw TensorSourceError.missingTensor(source: sourceDescription, name: name)
        }
        guard info.dtype.isFloatingPoint else {
            throw TensorSourceError.notFloat(source: sourceDescription, name: name, dtype: info.dtype)
        }
        return try bytes(of: name).floats(as: info.dtype)
    }

    /// Total element count over all tensors.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
}

/// How a stored int8 tensor names its per-output-channel f32 scales: the one convention readers, writers and
/// the model loader share.
public enum QuantizedTensorNaming {
    /// Suffix of the scale tensor that goes with an i8 weight.
    public static let scaleSuffix = ".scale"

    /// The name of the scale tensor of the i8 tensor `name`.
    public static func scaleName(of name: String) -> String { name + scaleSuffix }
}

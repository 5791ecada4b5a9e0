import CBytes
import UniSpeechCore

/// Read-only f32 values of one weight tensor: the checkpoint's mapped bytes used in place, or owned values.
public struct FloatStorage: @unchecked Sendable {
    private enum Backing {
        case mapped(TensorBytes)
        case owned([Float])
    }

    private let backing: Backing
    /// Number of f32 values.
    public let count: Int

    /// Uses little-endian f32 `bytes` in place when they are 4-byte aligned, else copies them.
    public init(f32 bytes: TensorBytes) {
        if bytes.isAligned(to: MemoryLayout<Float>.alignment) && bytes.count % MemoryLayout<Float>.stride == 0 {
            backing = .mapped(bytes)
            count = bytes.count / MemoryLayout<Float>.stride
        } else {
            let values = bytes.floats(as: .f32)
            backing = .owned(values)
            count = values.count
        }
    }

    /// Owns `values`.
    public init(_ values: [Float]) {
        backing = .owned(values)
        count = values.count
    }

    /// True when the values are read from the mapped file without a copy.
    public var isMapped: Bool {
        if case .mapped = backing { return true }
        return false
    }

    /// Calls `body` with the values; the pointer is valid only inside `body`.
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch backing {
        case let .owned(values):
            return try values.withUnsafeBufferPointer(body)
        case let .mapped(bytes):
            return try bytes.withUnsafeBytes { raw in
                try body(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: Float.self), count: count))
            }
        }
    }

    /// Calls `body` with the values seen as [rows, columns].
    func withMatrix<R>(rows: Int, columns: Int, _ body: (Matrix) throws -> R) rethrows -> R {
        precondition(rows * columns == count, "\(count) weight values are not [\(rows), \(columns)]")
        return try withUnsafeBufferPointer { try body(Matrix($0.baseAddress ?? emptyFloats, rows: rows, columns: columns)) }
    }

    /// A copy of the values.
    public var array: [Float] {
        switch backing {
        case let .owned(values): return values
        case .mapped: return withUnsafeBufferPointer { Array($0) }
        }
    }

    public subscript(index: Int) -> Float { withUnsafeBufferPointer { $0[index] } }
}

/// A valid address for views of no values.
nonisolated(unsafe) let emptyFloats = UnsafePointer<Float>(bitPattern: MemoryLayout<Float>.alignment)!

/// Calls `body` with the values of `storage`, or with nil.
func withOptionalPointer<R>(_ storage: FloatStorage?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let storage else { return try body(nil) }
    return try storage.withUnsafeBufferPointer { try body($0.baseAddress) }
}

/// How a linear layer's weight matrix is stored in the checkpoint.
public enum StoredMatrix: Sendable {
    /// f32 values (mapped or converted), row-major [out, in].
    case float(FloatStorage)
    /// IEEE half values row-major [out, in], 2-byte aligned, widened to f32 one layer at a time when used.
    case half(TensorBytes)
    /// int8 values row-major [out, in] with one f32 scale per output row: W[o, i] = q[o, i] * scale[o].
    case int8(values: TensorBytes, scales: [Float])
}

/// Weight and optional bias of a linear map y = x Wᵀ + b; the kernels choose how to multiply.
public struct LinearWeights: Sendable {
    /// How the product is computed.
    enum Product: Sendable {
        /// f32 GEMM on row-major [out, in] values, used in place.
        case float(FloatStorage)
        /// f32 GEMM after widening the row-major [out, in] half values into the workspace.
        case half(TensorBytes)
        /// u8 x s8 on the int8 values, used in place.
        case int8(Int8Weights)
    }

    public let outFeatures: Int
    public let inFeatures: Int
    let product: Product
    /// [out], or nil for a layer without bias.
    let bias: FloatStorage?

    /// Builds the layer from its stored form; int8 stays int8.
    public init(_ stored: StoredMatrix, bias: FloatStorage?, outFeatures: Int, inFeatures: Int) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.bias = bias
        precondition(bias.map { $0.count == outFeatures } ?? true, "bias has \(bias?.count ?? 0) values for \(outFeatures) outputs")
        switch stored {
        case let .float(storage):
            precondition(storage.count == outFeatures * inFeatures, "f32 weight shape mismatch")
            product = .float(storage)
        case let .half(values):
            precondition(values.count == outFeatures * inFeatures * 2, "f16 weight shape mismatch")
            product = .half(values)
        case let .int8(values, scales):
            product = .int8(Int8Weights(values: values, scales: scales, outputs: outFeatures, inputs: inFeatures))
        }
    }
}

extension KernelContext {
    static let widenedWeightsSlot = WorkspaceSlot("kernels.widened-weights")

    /// y[rows, out] = activation(x[rows, in] Wᵀ + b (+ y's own values when `accumulate`, e.g. a residual)) into `y`,
    /// which must not overlap x. The bias, the sum and the activation are fused into the product where the library can.
    public func linear(_ x: Matrix, _ layer: LinearWeights, into y: MutableMatrix, accumulate: Bool = false,
                       activation: Activation = .linear) throws {
        precondition(x.columns == layer.inFeatures && y.rows == x.rows && y.columns == layer.outFeatures,
                     "linear [\(layer.outFeatures), \(layer.inFeatures)] on [\(x.rows), \(x.columns)] into [\(y.rows), \(y.columns)]")
        guard x.rows > 0 else { return }
        try withOptionalPointer(layer.bias) { bias in
            switch layer.product {
            case let .int8(weights):
                try int8Product(x, weights, bias: bias, accumulate: accumulate, activation: activation, into: y)
            case let .float(weights):
                try weights.withMatrix(rows: layer.outFeatures, columns: layer.inFeatures) { w in
                    try gemm(x, RightOperand(matrix: w, transposed: true), bias: bias, accumulate: accumulate,
                             activation: activation, into: y)  // [rows, out]
                }
            case let .half(values):
                let count = layer.outFeatures * layer.inFeatures
                let widened = workspace.floats(Self.widenedWeightsSlot, count: count)
                measure("f16 widening \(layer.outFeatures)x\(layer.inFeatures)") {
                    values.withUnsafeBytes { raw in
                        let halves = raw.baseAddress!.assumingMemoryBound(to: UInt16.self)
                        forEachRowBlock(layer.outFeatures) { block in
                            let start = block.lowerBound * layer.inFeatures
                            cb_f16_to_f32(halves + start, widened + start, block.count * layer.inFeatures)
                        }
                    }
                }
                let w = Matrix(widened, rows: layer.outFeatures, columns: layer.inFeatures)
                try gemm(x, RightOperand(matrix: w, transposed: true), bias: bias, accumulate: accumulate,
                         activation: activation, into: y)  // [rows, out]
            }
        }
    }

    /// x[rows, in] Wᵀ + b as a new [rows, out] array (for the small heads).
    public func linear(_ x: [Float], rows: Int, _ layer: LinearWeights) throws -> [Float] {
        var y = [Float](repeating: 0, count: rows * layer.outFeatures)
        try x.withMatrix(rows: rows, columns: layer.inFeatures) { x in
            try y.withUnsafeMutableBufferPointer { out in
                try linear(x, layer, into: MutableMatrix(out.baseAddress ?? UnsafeMutablePointer(mutating: emptyFloats),
                                                         rows: rows, columns: layer.outFeatures))
            }
        }
        return y
    }
}

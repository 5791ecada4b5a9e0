/// Read-only f32 values of one weight tensor: the checkpoint's mapped bytes used in place, or owned values.
public struct FloatStorage: @unchecked Sendable {
    private enum Backing {
        case mapped(TensorBytes)
        case owned([Float])
    }

    private let backing: Backing
    /// Number of f32 values.
    public let count: Int

    /// Uses little-endian f32 `bytes` in place; they must be 4-byte aligned (see `TensorBytes.isAligned`).
    public init(mappedF32 bytes: TensorBytes) {
        precondition(bytes.isAligned(to: MemoryLayout<Float>.alignment) && bytes.count % MemoryLayout<Float>.stride == 0,
                     "mapped f32 storage needs aligned whole floats")
        backing = .mapped(bytes)
        count = bytes.count / MemoryLayout<Float>.stride
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
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch backing {
        case let .owned(values):
            return try values.withUnsafeBufferPointer(body)
        case let .mapped(bytes):
            return try bytes.withUnsafeBytes { raw in
                try body(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: Float.self), count: count))
            }
        }
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

/// How a linear layer's weight matrix is stored in the checkpoint.
public enum StoredMatrix: Sendable {
    /// f32 values (mapped or converted), row-major [out, in].
    case float(FloatStorage)
    /// IEEE half values row-major [out, in], 2-byte aligned, widened to f32 one layer at a time when used.
    case half(TensorBytes)
    /// int8 values row-major [out, in] with one f32 scale per output row: W[o, i] = q[o, i] * scale[o].
    case int8(values: TensorBytes, scales: [Float])
}

/// Weight and optional bias of a linear map y = x W^T + b; the kernels choose how to multiply.
public struct LinearWeights: Sendable {
    /// How the product is computed.
    enum Matrix: Sendable {
        /// sgemm on row-major [out, in] f32 values.
        case float(FloatStorage)
        /// sgemm after widening the row-major [out, in] half values into scratch.
        case half(TensorBytes)
        /// oneDNN u8 x s8 on the int8 values, used in place.
        case int8(Int8Matmul)
    }

    public let outFeatures: Int
    public let inFeatures: Int
    let matrix: Matrix
    /// [out], or nil for a layer without bias.
    let bias: FloatStorage?

    /// Builds the layer from its stored form; int8 stays int8 and runs through `Int8Matmul`.
    public init(_ stored: StoredMatrix, bias: FloatStorage?, outFeatures: Int, inFeatures: Int) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.bias = bias
        switch stored {
        case let .float(storage):
            matrix = .float(storage)
        case let .half(values):
            precondition(values.count == outFeatures * inFeatures * 2, "f16 weight shape mismatch")
            matrix = .half(values)
        case let .int8(values, scales):
            matrix = .int8(Int8Matmul(weights: values, scales: scales, outputs: outFeatures, inputs: inFeatures))
        }
    }
}

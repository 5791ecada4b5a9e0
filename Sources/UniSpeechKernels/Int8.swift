import CKernels
import UniSpeechCore

/// Int8 weights of a linear map y = x Wᵀ + b: W s8 [N, K] (used in place) with one f32 scale per output
/// channel, run as u8 x s8 products with the activations quantised per row on the fly.
public final class Int8Weights: @unchecked Sendable {
    /// N, output features.
    public let outputs: Int
    /// K, input features.
    public let inputs: Int
    private let storage: TensorBytes
    let values: UnsafePointer<Int8>
    /// [N] f32.
    let scales: [Float]
    /// [N], the sum over K of W[n, :] (|sum| <= 127 K: no overflow).
    let columnSums: [Int32]

    /// Weights `values` (s8 [outputs, inputs]) with per-output-channel `scales`.
    public init(values: TensorBytes, scales: [Float], outputs: Int, inputs: Int) {
        precondition(values.count == outputs * inputs && scales.count == outputs, "int8 weight shape mismatch")
        self.outputs = outputs
        self.inputs = inputs
        storage = values
        self.scales = scales
        let base = values.withUnsafeBytes { $0.baseAddress!.assumingMemoryBound(to: Int8.self) }
        self.values = base
        columnSums = [Int32](unsafeUninitializedCapacity: outputs) { sums, initialized in
            ck_row_sums_s8(base, outputs, inputs, sums.baseAddress!)
            initialized = outputs
        }
    }
}

extension KernelContext {
    static let codesSlot = WorkspaceSlot("kernels.int8-codes")
    static let productsSlot = WorkspaceSlot("kernels.int8-products")
    static let rowScalesSlot = WorkspaceSlot("kernels.int8-row-scales")
    static let rowZerosSlot = WorkspaceSlot("kernels.int8-row-zeros")

    /// Largest u8 activation code: 255 where oneDNN uses VNNI (exact s32 accumulation), else 127 so that
    /// AVX2's pairwise u8 x s8 -> s16 products (vpmaddubsw) cannot saturate.
    var activationMax: Int32 { ComputePlatform.current.onednnHasVNNI ? 255 : 127 }

    /// y[M, N] = x[M, K] Wᵀ + bias for int8 W: each row of x gets its own scale and zero point, its codes
    /// multiply W in oneDNN (u8 x s8 -> s32), and the products are scaled back per row and column (and added to
    /// y's own values when `accumulate`).
    /// x's rows may overlap (a conv's input windows, read in place).
    func int8Product(_ x: Matrix, _ weights: Int8Weights, bias: UnsafePointer<Float>?, accumulate: Bool = false,
                     into y: MutableMatrix) throws {
        let rows = x.rows, outputs = weights.outputs, inputs = weights.inputs
        precondition(x.columns == inputs && y.rows == rows && y.columns == outputs, "int8 product shapes")
        guard rows > 0 else { return }
        let codes = workspace.values(Self.codesSlot, count: rows * inputs, as: UInt8.self)  // [M, K]
        let products = workspace.values(Self.productsSlot, count: rows * outputs, as: Int32.self)  // [M, N]
        let rowScales = workspace.floats(Self.rowScalesSlot, count: rows)
        let rowZeros = workspace.values(Self.rowZerosSlot, count: rows, as: Int32.self)
        let maximum = activationMax
        measure("int8 quantize \(rows)x\(inputs)") {
            forEachRowBlock(rows) { block in
                ck_quantize_rows_u8(x.base + block.lowerBound * x.rowStride, block.count, inputs, x.rowStride, maximum,
                                    codes + block.lowerBound * inputs, rowScales + block.lowerBound, rowZeros + block.lowerBound)
            }
        }
        let shape = MatmulShape(
            batch: 1, m: rows, n: outputs, k: inputs,
            a: OperandLayout(type: .u8, batchStride: 0, rowStride: inputs, columnStride: 1),
            b: OperandLayout(type: .s8, batchStride: 0, rowStride: 1, columnStride: inputs),
            c: OperandLayout(type: .s32, batchStride: 0, rowStride: outputs, columnStride: 1),
            bias: false, accumulate: false, threads: rows * inputs * outputs < Self.parallelMultiplyAdds ? 1 : threads)
        let primitive = try measure("matmul primitive creation") { try engine.onednn.matmul(shape) }
        try measure("int8 matmul \(rows)x\(inputs)x\(outputs) (\(primitive.implementation))", flops: 2 * Double(rows * inputs * outputs)) {
            try execute(primitive, MatmulOperands(a: UnsafeRawPointer(codes), b: UnsafeRawPointer(weights.values),
                                                  c: UnsafeMutableRawPointer(products)))
        }
        measure("int8 dequantize \(rows)x\(outputs)") {
            weights.scales.withUnsafeBufferPointer { columnScales in
                weights.columnSums.withUnsafeBufferPointer { columnSums in
                    forEachRowBlock(rows) { block in                                              // [M, N] f32
                        ck_dequantize_s32(products + block.lowerBound * outputs, block.count, outputs, rowScales + block.lowerBound,
                                          rowZeros + block.lowerBound, columnScales.baseAddress!, columnSums.baseAddress!, bias,
                                          accumulate ? 1 : 0, y.base + block.lowerBound * y.rowStride, y.rowStride)
                    }
                }
            }
        }
    }
}

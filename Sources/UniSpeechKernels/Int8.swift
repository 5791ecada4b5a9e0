import CKernels
import Synchronization
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
    /// [N], the sum over K of W[n, :] (|sum| <= 127 K: no overflow), made on first use: reading every weight at
    /// load took ~20 ms of base's load, and the fused form never needs them.
    private let sums = Mutex<[Int32]?>(nil)

    /// Weights `values` (s8 [outputs, inputs]) with per-output-channel `scales`.
    public init(values: TensorBytes, scales: [Float], outputs: Int, inputs: Int) {
        precondition(values.count == outputs * inputs && scales.count == outputs, "int8 weight shape mismatch")
        self.outputs = outputs
        self.inputs = inputs
        storage = values
        self.scales = scales
        self.values = values.withUnsafeBytes { $0.baseAddress!.assumingMemoryBound(to: Int8.self) }
    }

    /// The column sums, made by the first caller (its threads sharing the rows) while later ones wait.
    func columnSums(_ context: KernelContext) -> [Int32] {
        sums.withLock { sums in
            if let sums { return sums }
            let made = [Int32](unsafeUninitializedCapacity: outputs) { buffer, initialized in
                let out = buffer.baseAddress!
                context.forEachRowBlock(outputs) { block in
                    ck_row_sums_s8(values + block.lowerBound * inputs, block.count, inputs, out + block.lowerBound)
                }
                initialized = outputs
            }
            sums = made
            return made
        }
    }
}

extension KernelContext {
    static let codesSlot = WorkspaceSlot("kernels.int8-codes")
    static let productsSlot = WorkspaceSlot("kernels.int8-products")
    static let rowScalesSlot = WorkspaceSlot("kernels.int8-row-scales")
    static let rowZerosSlot = WorkspaceSlot("kernels.int8-row-zeros")
    static let rowLowsSlot = WorkspaceSlot("kernels.int8-row-lows")
    static let rowHighsSlot = WorkspaceSlot("kernels.int8-row-highs")

    /// Largest u8 activation code: 255 where oneDNN uses VNNI (exact s32 accumulation), else 127 so that
    /// AVX2's pairwise u8 x s8 -> s16 products (vpmaddubsw) cannot saturate.
    var activationMax: Int32 { ComputePlatform.current.onednnHasVNNI ? 255 : 127 }

    /// y[M, N] = activation(x[M, K] Wᵀ + bias (+ y's own values when `accumulate`)) for int8 W, the rows of x
    /// quantised on the fly to u8 codes with a scale each, multiplied with W in oneDNN (u8 x s8).
    /// Each row gets its own zero point and an explicit pass scales the s32 products back. With the `onednnFused`
    /// backend where oneDNN has brgemm, its matmul does that instead, adds the bias and y and applies the activation
    /// (post-ops), and the rows share one zero point (oneDNN 2.6 has no per-row ones), chosen per call to cost the
    /// rows least resolution. (On gemm:jit, AVX2, fusing gains nothing: probe section 6.)
    /// x's rows may overlap (a conv's input windows, read in place).
    func int8Product(_ x: Matrix, _ weights: Int8Weights, bias: UnsafePointer<Float>?, accumulate: Bool = false,
                     activation: Activation = .linear, into y: MutableMatrix) throws {
        let rows = x.rows, outputs = weights.outputs, inputs = weights.inputs
        precondition(x.columns == inputs && y.rows == rows && y.columns == outputs, "int8 product shapes")
        guard rows > 0 else { return }
        if engine.backend == .onednnFused && runsBrgemm {
            try fusedInt8Product(x, weights, bias: bias, accumulate: accumulate, activation: activation, into: y)
        } else {
            try int8ProductThenDequantize(x, weights, bias: bias, accumulate: accumulate, into: y)
            apply(activation, to: y)
        }
    }

    private func int8Threads(rows: Int, _ weights: Int8Weights) -> Int {
        rows * weights.inputs * weights.outputs < Self.parallelMultiplyAdds ? 1 : threads
    }

    /// The brgemm form of `int8Product`: codes around one zero point, everything after the s32 sums in oneDNN.
    private func fusedInt8Product(_ x: Matrix, _ weights: Int8Weights, bias: UnsafePointer<Float>?, accumulate: Bool,
                                  activation: Activation, into y: MutableMatrix) throws {
        let rows = x.rows, outputs = weights.outputs, inputs = weights.inputs
        let codes = workspace.values(Self.codesSlot, count: rows * inputs, as: UInt8.self)  // [M, K]
        let rowScales = workspace.floats(Self.rowScalesSlot, count: rows)
        let lows = workspace.floats(Self.rowLowsSlot, count: rows), highs = workspace.floats(Self.rowHighsSlot, count: rows)
        let maximum = activationMax
        var zeroPoint: Int32 = 0
        measure("int8 quantize \(rows)x\(inputs)") {
            forEachRowBlock(rows) { block in
                ck_row_ranges(x.base + block.lowerBound * x.rowStride, block.count, inputs, x.rowStride,
                              lows + block.lowerBound, highs + block.lowerBound)
            }
            zeroPoint = ck_common_zero_point(lows, highs, rows, maximum)
            forEachRowBlock(rows) { block in
                ck_quantize_rows_common_zero(x.base + block.lowerBound * x.rowStride, block.count, inputs, x.rowStride,
                                             maximum, zeroPoint, lows + block.lowerBound, highs + block.lowerBound,
                                             codes + block.lowerBound * inputs, rowScales + block.lowerBound)
            }
        }
        let shape = MatmulShape(
            batch: 1, m: rows, n: outputs, k: inputs,
            a: OperandLayout(type: .u8, batchStride: rows * inputs, rowStride: inputs, columnStride: 1),
            b: OperandLayout(type: .s8, batchStride: outputs * inputs, rowStride: 1, columnStride: inputs),
            c: OperandLayout(type: .f32, batchStride: rows * y.rowStride, rowStride: y.rowStride, columnStride: 1),
            bias: bias != nil, accumulate: accumulate, activation: OnednnActivation(activation),
            threads: int8Threads(rows: rows, weights), dequantizes: true)
        let primitive = try measure("matmul primitive creation") { try engine.onednn.matmul(shape) }
        let label = activation == .linear || shape.activation == nil ? "" : " " + activation.rawValue
        try measure("int8 matmul \(rows)x\(inputs)x\(outputs)\(label) (\(primitive.implementation))",
                    flops: 2 * Double(rows * inputs * outputs)) {
            try weights.scales.withUnsafeBufferPointer { columnScales in
                try withUnsafePointer(to: zeroPoint) { zero in
                    try execute(primitive, MatmulOperands(
                        a: UnsafeRawPointer(codes), b: UnsafeRawPointer(weights.values), c: UnsafeMutableRawPointer(y.base),
                        bias: bias, dequantization: Dequantization(zeroPoint: zero, columnScales: columnScales.baseAddress!,
                                                                   rowScales: rowScales)))
                }
            }
        }
        if shape.activation == nil { apply(activation, to: y) }
    }

    /// The gemm:jit form of `int8Product` (without the activation): per-row codes, s32 sums, an explicit pass back.
    private func int8ProductThenDequantize(_ x: Matrix, _ weights: Int8Weights, bias: UnsafePointer<Float>?,
                                           accumulate: Bool, into y: MutableMatrix) throws {
        let rows = x.rows, outputs = weights.outputs, inputs = weights.inputs
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
            bias: false, accumulate: false, threads: int8Threads(rows: rows, weights))
        let primitive = try measure("matmul primitive creation") { try engine.onednn.matmul(shape) }
        try measure("int8 matmul \(rows)x\(inputs)x\(outputs) (\(primitive.implementation))", flops: 2 * Double(rows * inputs * outputs)) {
            try execute(primitive, MatmulOperands(a: UnsafeRawPointer(codes), b: UnsafeRawPointer(weights.values),
                                                  c: UnsafeMutableRawPointer(products)))
        }
        measure("int8 dequantize \(rows)x\(outputs)") {
            weights.scales.withUnsafeBufferPointer { columnScales in
                weights.columnSums(self).withUnsafeBufferPointer { columnSums in
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

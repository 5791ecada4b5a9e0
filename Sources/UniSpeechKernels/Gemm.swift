import COpenBLAS

/// The right-hand operand of a product: a matrix as stored, and whether the product reads it transposed
/// (torch Linear weights W [N, K] give x Wᵀ).
struct RightOperand {
    let matrix: Matrix
    let transposed: Bool

    /// K, the inner dimension.
    var inner: Int { transposed ? matrix.columns : matrix.rows }
    /// N, the output columns.
    var outer: Int { transposed ? matrix.rows : matrix.columns }
}

extension KernelContext {
    /// Without brgemm (AVX2), products with fewer rows than this run on one primitive for every M (oneDNN's
    /// run-time dimensions), so a new short input length makes no new primitives. Where brgemm exists every
    /// product gets a fixed-M primitive (~0.1 ms to make): run-time M always runs gemm:jit, which is slower there
    /// and whose first call in a process spends ~20 ms generating its kernels (30 files of 0.6-2.6 s, base f32,
    /// 2 threads, AVX-512: 3.17 s with run-time M below 128 rows, 2.45 s fixed).
    static let runtimeRowsBelow = 128

    /// Products smaller than this many multiply-adds run on one thread: waking the other threads and waiting for
    /// them at the end costs more than they would save, and far more when the machine is busy.
    static let parallelMultiplyAdds = 1 << 21

    /// c[M, N] = activation(a[M, K] · b (+ bias[N]) (+ c's own values when `accumulate`)), on the engine's backend
    /// and threads; the activation is fused into oneDNN's matmul where it can be, else applied after.
    func gemm(_ a: Matrix, _ b: RightOperand, bias: UnsafePointer<Float>? = nil, accumulate: Bool = false,
              activation: Activation = .linear, into c: MutableMatrix) throws {
        try batchedGemm(batch: 1, a, batchStride: 0, b, batchStride: 0, bias: bias, accumulate: accumulate,
                        activation: activation, into: c, batchStride: 0)
    }

    /// For each i < batch: c_i = a_i · b_i (+ bias) (+ c_i), where operand_i starts `batchStride` floats after
    /// operand_(i-1) (e.g. the heads of attention, whose matrices interleave in [T, heads * d]).
    func batchedGemm(batch: Int, _ a: Matrix, batchStride aStride: Int, _ b: RightOperand, batchStride bStride: Int,
                     bias: UnsafePointer<Float>? = nil, accumulate: Bool = false, activation: Activation = .linear,
                     into c: MutableMatrix, batchStride cStride: Int) throws {
        let m = a.rows, k = a.columns, n = b.outer
        precondition(b.inner == k && c.rows == m && c.columns == n,
                     "gemm shapes [\(m), \(k)] x [\(b.inner), \(n)] -> [\(c.rows), \(c.columns)]")
        guard m > 0, n > 0, batch > 0 else { return }
        switch engine.backend {
        case .onednn, .onednnFused:
            let runtimeRows = batch == 1 && m < Self.runtimeRowsBelow && !ComputePlatform.current.onednnHasBrgemm
            let shape = MatmulShape(
                batch: batch, m: runtimeRows ? 0 : m, n: n, k: k,
                a: OperandLayout(type: .f32, batchStride: aStride, rowStride: a.rowStride, columnStride: 1),
                b: b.transposed
                    ? OperandLayout(type: .f32, batchStride: bStride, rowStride: 1, columnStride: b.matrix.rowStride)
                    : OperandLayout(type: .f32, batchStride: bStride, rowStride: b.matrix.rowStride, columnStride: 1),
                c: OperandLayout(type: .f32, batchStride: cStride, rowStride: c.rowStride, columnStride: 1),
                bias: bias != nil, accumulate: accumulate, activation: OnednnActivation(activation),
                threads: batch * m * n * k < Self.parallelMultiplyAdds ? 1 : threads, runtimeRows: runtimeRows)
            let primitive = try measure("matmul primitive creation") { try engine.onednn.matmul(shape) }
            try measure("matmul \(batch == 1 ? "" : "\(batch)x")\(m)x\(k)x\(n)\(activation == .linear ? "" : " " + activation.rawValue) (\(primitive.implementation))",
                        flops: 2 * Double(batch * m * n * k)) {
                try execute(primitive, MatmulOperands(m: m, a: UnsafeRawPointer(a.base), b: UnsafeRawPointer(b.matrix.base),
                                                      c: UnsafeMutableRawPointer(c.base), bias: bias))
            }
            if shape.activation == nil { applyBatched(activation, batch: batch, c, batchStride: cStride) }
        case .openblas:
            measure("sgemm \(batch == 1 ? "" : "\(batch)x")\(m)x\(k)x\(n) (openblas)", flops: 2 * Double(batch * m * n * k)) {
                if batch == 1 {
                    forEachRowBlock(m) { rows in blasGemm(a.rows(rows), b, bias: bias, accumulate: accumulate, into: c.rows(rows)) }
                } else {
                    forEachShare(batch) { _, items in
                        for i in items {
                            blasGemm(Matrix(a.base + i * aStride, rows: m, columns: k, rowStride: a.rowStride),
                                     RightOperand(matrix: Matrix(b.matrix.base + i * bStride, rows: b.matrix.rows,
                                                                 columns: b.matrix.columns, rowStride: b.matrix.rowStride),
                                                  transposed: b.transposed),
                                     bias: bias, accumulate: accumulate,
                                     into: MutableMatrix(c.base + i * cStride, rows: m, columns: n, rowStride: c.rowStride))
                        }
                    }
                }
            }
            applyBatched(activation, batch: batch, c, batchStride: cStride)
        }
    }

    /// Applies `activation` to each of `batch` [M, N] results `batchStride` floats apart.
    private func applyBatched(_ activation: Activation, batch: Int, _ c: MutableMatrix, batchStride: Int) {
        guard activation != .linear else { return }
        for i in 0..<batch { apply(activation, to: MutableMatrix(c.base + i * batchStride, rows: c.rows, columns: c.columns, rowStride: c.rowStride)) }
    }

    /// One single-threaded sgemm (the engine splits the work among its threads).
    private func blasGemm(_ a: Matrix, _ b: RightOperand, bias: UnsafePointer<Float>?, accumulate: Bool, into c: MutableMatrix) {
        if let bias {
            c.forEachRow { _, row in
                if accumulate {
                    for j in row.indices { row[j] += bias[j] }
                } else {
                    row.baseAddress!.update(from: bias, count: row.count)
                }
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans,
                    Int32(a.rows), Int32(c.columns), Int32(a.columns), 1, a.base, Int32(a.rowStride),
                    b.matrix.base, Int32(b.matrix.rowStride), bias != nil || accumulate ? 1 : 0, c.base, Int32(c.rowStride))
    }
}

import COpenBLAS

/// Matrix kernels on row-major f32 data, through OpenBLAS sgemm.
public enum Kernels {
    /// Sets the number of threads the BLAS uses.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
        Int8MatmulContext.shared.threads = count
    }

    /// C[M, N] = alpha * A[M, K] * op(B) + beta * C, row-major with leading dimensions; op(B) = B^T when
    /// `transposeB` (B stored [N, K]) else B (stored [K, N]).
    static func gemm(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y[rows, out] = x[rows, in] W^T + b.
    public static func linear(_ x: [Float], rows: Int, _ layer: LinearWeights) -> [Float] {
        precondition(x.count == rows * layer.inFeatures, "linear input has \(x.count) values, expected \(rows) x \(layer.inFeatures)")
        var y = [Float](repeating: 0, count: rows * layer.outFeatures)
        guard rows > 0 else { return y }
        let out = layer.outFeatures
        if case let .int8(matmul) = layer.matrix {
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    withOptionalPointer(layer.bias) { bias in
                        do {
                            try matmul.apply(xp.baseAddress!, rows: rows, bias: bias, into: yp.baseAddress!)
                        } catch {
                            preconditionFailure("int8 linear layer: \(error.localizedDescription)")
                        }
                    }
                }
            }
            return y
        }
        guard case let .float(weight) = layer.matrix else { return y }
        y.withUnsafeMutableBufferPointer { yp in
            if let bias = layer.bias {
                bias.withUnsafeBufferPointer { bp in
                    for row in 0..<rows { (yp.baseAddress! + row * out).update(from: bp.baseAddress!, count: out) }
                }
            }
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    gemm(m: rows, n: out, k: layer.inFeatures, a: xp.baseAddress!, lda: layer.inFeatures,
                         b: wp.baseAddress!, ldb: layer.inFeatures, transposeB: true,
                         beta: layer.bias == nil ? 0 : 1, c: yp.baseAddress!, ldc: out)
                }
            }
        }
        return y
    }

    /// Calls `body` with the values of `storage`, or with nil.
    static func withOptionalPointer<R>(_ storage: FloatStorage?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let storage else { return body(nil) }
        return storage.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

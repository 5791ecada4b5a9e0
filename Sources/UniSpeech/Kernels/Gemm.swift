import CKernels
import COpenBLAS
import Dispatch
import Synchronization

/// Matrix kernels on row-major f32 data, through OpenBLAS sgemm.
public enum Kernels {
    /// Threads for the kernels split by `forEachShare` / `forEachRowBlock`.
    private static let threadCount = Atomic<Int>(1)

    /// Sets the number of threads the BLAS, oneDNN and the split kernels use.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
        Int8MatmulContext.shared.threads = count
        threadCount.store(max(1, count), ordering: .relaxed)
    }

    /// The number of shares `forEachShare` splits work into.
    static var threads: Int { threadCount.load(ordering: .relaxed) }

    /// Runs `body` with OpenBLAS on the calling thread only, restoring its thread count afterwards: for work
    /// split by `forEachShare` into many small sgemm calls, and for int8 models, whose oneDNN (OpenMP) threads
    /// would otherwise share the cores with OpenBLAS's own, which spin for a while after each call.
    static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        return try body()
    }

    /// Fewest rows worth handing to another thread.
    static let minimumRowsPerThread = 64

    /// Calls `body` on disjoint row ranges covering 0..<rows, concurrently on up to the set thread count.
    /// `body` may write through pointers the caller owns: the ranges never overlap, which is what makes
    /// handing it to other threads sound.
    static func forEachRowBlock(_ rows: Int, _ body: (Range<Int>) -> Void) {
        forEachShare(rows, shares: min(threads, max(1, rows / minimumRowsPerThread))) { _, range in body(range) }
    }

    /// Splits 0..<count into `shares` disjoint ranges (default: one per thread, at most one per item) and calls
    /// `body(share, range)` for each, concurrently; the share index lets each use its own scratch.
    static func forEachShare(_ count: Int, shares: Int? = nil, _ body: (Int, Range<Int>) -> Void) {
        let shares = max(1, min(shares ?? threads, count))
        guard shares > 1 else { return body(0, 0..<count) }
        withoutActuallyEscaping(body) { body in
            let shared = DisjointWork(body: body)
            DispatchQueue.concurrentPerform(iterations: shares) { share in
                shared.body(share, (count * share / shares)..<(count * (share + 1) / shares))
            }
        }
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

    /// y[rows, out] = x[rows, in] W^T + b, into `y` (which must not overlap x). f16 weights are widened into
    /// the workspace's weight slot (or a temporary buffer without a workspace) just before their sgemm.
    static func linear(_ x: UnsafePointer<Float>, rows: Int, _ layer: LinearWeights, into y: UnsafeMutablePointer<Float>,
                       workspace: Workspace? = nil) {
        guard rows > 0 else { return }
        switch layer.matrix {
        case let .int8(matmul):
            withOptionalPointer(layer.bias) { bias in
                do {
                    try matmul.apply(x, rows: rows, bias: bias, into: y)
                } catch {
                    preconditionFailure("int8 linear layer: \(error.localizedDescription)")
                }
            }
        case let .float(weight):
            weight.withUnsafeBufferPointer { floatLinear(x, rows: rows, layer, weight: $0.baseAddress!, into: y) }
        case let .half(values):
            let count = layer.outFeatures * layer.inFeatures
            let widen = { (weight: UnsafeMutablePointer<Float>) in
                values.withUnsafeBytes { raw in
                    let halves = raw.baseAddress!.assumingMemoryBound(to: UInt16.self)
                    forEachRowBlock(layer.outFeatures) { block in
                        let start = block.lowerBound * layer.inFeatures
                        ck_f16_to_f32(halves + start, weight + start, block.count * layer.inFeatures)
                    }
                }
                floatLinear(x, rows: rows, layer, weight: weight, into: y)
            }
            if let workspace {
                widen(workspace.buffer(.weights, count: count))
            } else {
                var scratch = [Float](repeating: 0, count: count)
                scratch.withUnsafeMutableBufferPointer { widen($0.baseAddress!) }
            }
        }
    }

    /// The sgemm of `linear` on f32 weights W [out, in].
    private static func floatLinear(_ x: UnsafePointer<Float>, rows: Int, _ layer: LinearWeights, weight: UnsafePointer<Float>,
                                    into y: UnsafeMutablePointer<Float>) {
        let out = layer.outFeatures
        withOptionalPointer(layer.bias) { bias in
            if let bias {
                for row in 0..<rows { (y + row * out).update(from: bias, count: out) }
            }
            gemm(m: rows, n: out, k: layer.inFeatures, a: x, lda: layer.inFeatures, b: weight, ldb: layer.inFeatures,
                 transposeB: true, beta: bias == nil ? 0 : 1, c: y, ldc: out)
        }
    }

    /// y[rows, out] = x[rows, in] W^T + b, as a new array (for the small heads).
    public static func linear(_ x: [Float], rows: Int, _ layer: LinearWeights) -> [Float] {
        precondition(x.count == rows * layer.inFeatures, "linear input has \(x.count) values, expected \(rows) x \(layer.inFeatures)")
        return [Float](unsafeUninitializedCapacity: rows * layer.outFeatures) { y, initialized in
            x.withUnsafeBufferPointer { linear($0.baseAddress!, rows: rows, layer, into: y.baseAddress!) }
            initialized = rows * layer.outFeatures
        }
    }

    /// y += x element-wise over `count` values.
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// Calls `body` with the values of `storage`, or with nil.
    static func withOptionalPointer<R>(_ storage: FloatStorage?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let storage else { return body(nil) }
        return storage.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// A closure run on disjoint ranges by `Kernels.forEachShare`.
private struct DisjointWork: @unchecked Sendable {
    let body: (Int, Range<Int>) -> Void
}

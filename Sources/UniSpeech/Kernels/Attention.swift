import CKernels
import Foundation

extension Kernels {
    /// Multi-head scaled dot-product attention over a padded batch. q, k, v are [batch * frames, heads * headDim]
    /// (frame-major per batch item); keys at frames >= keyLengths[b] get zero weight. Returns the context
    /// [batch * frames, heads * headDim].
    public static func attention(q: [Float], k: [Float], v: [Float], batch: Int, frames: Int, heads: Int,
                                 keyLengths: [Int]) -> [Float] {
        let width = q.count / max(batch * frames, 1)
        let headDim = width / heads
        precondition(q.count == batch * frames * width && k.count == q.count && v.count == q.count && headDim * heads == width,
                     "attention inputs have inconsistent sizes")
        precondition(keyLengths.count == batch, "one key length per batch item")
        let scale = 1 / Float(headDim).squareRoot()
        var context = [Float](repeating: 0, count: q.count)
        var scores = [Float](repeating: 0, count: frames * frames)
        q.withUnsafeBufferPointer { qp in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    context.withUnsafeMutableBufferPointer { cp in
                        scores.withUnsafeMutableBufferPointer { sp in
                            for b in 0..<batch {
                                let keys = min(max(keyLengths[b], 0), frames)
                                for h in 0..<heads {
                                    let offset = b * frames * width + h * headDim
                                    // scores[frames, keys] = Q_bh[frames, headDim] K_bh[keys, headDim]^T
                                    gemm(m: frames, n: keys, k: headDim,
                                         a: qp.baseAddress! + offset, lda: width,
                                         b: kp.baseAddress! + offset, ldb: width, transposeB: true,
                                         c: sp.baseAddress!, ldc: keys)
                                    ck_softmax_rows(sp.baseAddress!, frames, keys, keys, scale)  // softmax(scale * scores)
                                    // context_bh[frames, headDim] = P[frames, keys] V_bh[keys, headDim]
                                    gemm(m: frames, n: headDim, k: keys,
                                         a: sp.baseAddress!, lda: keys,
                                         b: vp.baseAddress! + offset, ldb: width, transposeB: false,
                                         c: cp.baseAddress! + offset, ldc: width)
                                }
                            }
                        }
                    }
                }
            }
        }
        return context
    }
}

import CKernels

extension Kernels {
    /// Multi-head scaled dot-product attention over a padded batch. q, k, v are [batch * frames, heads * headDim]
    /// (frame-major per batch item); keys at frames >= keyLengths[b] get zero weight. Writes the context
    /// [batch * frames, heads * headDim] into `context`; each thread's scores live in the workspace.
    static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                          batch: Int, frames: Int, width: Int, heads: Int, keyLengths: [Int],
                          into context: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let headDim = width / heads
        precondition(headDim * heads == width, "attention width \(width) does not split into \(heads) heads")
        precondition(keyLengths.count == batch, "one key length per batch item")
        let scale = 1 / Float(headDim).squareRoot()
        let shares = min(threads, batch * heads)
        let scores = workspace.buffer(.scores, count: shares * frames * frames)  // [shares, frames, keys]
        // Heads run side by side, each on one thread's sgemm: these products are too small for OpenBLAS's threads.
        withSingleThreadedBLAS {
            forEachShare(batch * heads, shares: shares) { share, pairs in
                let scores = scores + share * frames * frames
                for pair in pairs {
                    let b = pair / heads, h = pair % heads
                    let keys = min(max(keyLengths[b], 0), frames)
                    let offset = b * frames * width + h * headDim
                    // scores[frames, keys] = Q_bh[frames, headDim] K_bh[keys, headDim]^T
                    gemm(m: frames, n: keys, k: headDim, a: q + offset, lda: width, b: k + offset, ldb: width,
                         transposeB: true, c: scores, ldc: keys)
                    ck_softmax_rows(scores, frames, keys, keys, scale)  // softmax(scale * scores)
                    // context_bh[frames, headDim] = P[frames, keys] V_bh[keys, headDim]
                    gemm(m: frames, n: headDim, k: keys, a: scores, lda: keys, b: v + offset, ldb: width,
                         transposeB: false, c: context + offset, ldc: width)
                }
            }
        }
    }
}

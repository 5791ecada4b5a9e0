import CKernels

extension KernelContext {
    static let scoresSlot = WorkspaceSlot("kernels.attention-scores")

    /// Largest score block, in floats: the heads of one batch item are run in groups whose [T, T] scores fit.
    static let scoreBlockFloats = 1 << 24

    /// Multi-head scaled dot-product attention over a padded batch. q, k, v are [batch * frames, heads * headDim]
    /// (frame-major per batch item); keys at frames >= keyLengths[b] get zero weight. Writes the context
    /// [batch * frames, heads * headDim] into `context`. `scoreBias(item, head, scores)`, when given, adds to
    /// the scaled scores [frames, keys] of one (item, head) before the softmax (relative position biases).
    public func attention(q: Matrix, k: Matrix, v: Matrix, batch: Int, heads: Int, keyLengths: [Int],
                          scoreBias: ((Int, Int, MutableMatrix) -> Void)? = nil, into context: MutableMatrix) throws {
        let width = q.columns, headDim = width / heads, frames = q.rows / max(batch, 1)
        precondition(headDim * heads == width, "attention width \(width) does not split into \(heads) heads")
        precondition(keyLengths.count == batch && q.rows == batch * frames && k.rows == q.rows && v.rows == q.rows
                     && context.rows == q.rows && context.columns == width, "attention shapes")
        let scale = 1 / Float(headDim).squareRoot()
        for b in 0..<batch {
            let keys = min(max(keyLengths[b], 0), frames)
            let item = (b * frames)..<((b + 1) * frames)
            let (qb, kb, vb, cb) = (q.rows(item), k.rows(item), v.rows(item), context.rows(item))
            guard keys > 0 else {
                cb.fill(0)
                continue
            }
            let headsPerBlock = max(1, min(heads, Self.scoreBlockFloats / (frames * keys)))
            let scores = workspace.floats(Self.scoresSlot, count: headsPerBlock * frames * keys)  // [heads, frames, keys]
            for first in stride(from: 0, to: heads, by: headsPerBlock) {
                let count = min(headsPerBlock, heads - first), columns = (first * headDim)..<((first + 1) * headDim)
                let block = MutableMatrix(scores, rows: frames, columns: keys)
                // scores_h[frames, keys] = Q_h[frames, d] K_h[keys, d]ᵀ for each head h of the block
                try batchedGemm(batch: count, qb.columns(columns), batchStride: headDim,
                                RightOperand(matrix: kb.rows(0..<keys).columns(columns), transposed: true), batchStride: headDim,
                                into: block, batchStride: frames * keys)
                var softmaxScale = scale
                if let scoreBias {  // softmax(scale * scores + bias)
                    forEachRowBlock(count * frames) { rows in
                        for index in (rows.lowerBound * keys)..<(rows.upperBound * keys) { scores[index] *= scale }
                    }
                    for h in 0..<count { scoreBias(b, first + h, MutableMatrix(scores + h * frames * keys, rows: frames, columns: keys)) }
                    softmaxScale = 1
                }
                measure("softmax \(count)x\(frames)x\(keys)") {
                    forEachRowBlock(count * frames) { rows in  // softmax(softmaxScale * scores) over each row
                        ck_softmax_rows(scores + rows.lowerBound * keys, rows.count, keys, keys, softmaxScale)
                    }
                }
                // context_h[frames, d] = P_h[frames, keys] V_h[keys, d]
                try batchedGemm(batch: count, block.readOnly, batchStride: frames * keys,
                                RightOperand(matrix: vb.rows(0..<keys).columns(columns), transposed: false), batchStride: headDim,
                                into: cb.columns(columns), batchStride: headDim)
            }
        }
    }
}

import CKernels

extension KernelContext {
    static let scoresSlot = WorkspaceSlot("kernels.attention-scores")
    static let headMajorSlot = WorkspaceSlot("kernels.attention-head-major")

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
                let count = min(headsPerBlock, heads - first), columns = (first * headDim)..<((first + count) * headDim)
                let block = MutableMatrix(scores, rows: frames, columns: keys)
                let operands = headOperands(q: qb.columns(columns), k: kb.rows(0..<keys).columns(columns),
                                            v: vb.rows(0..<keys).columns(columns), heads: count, headDim: headDim)
                // scores_h[frames, keys] = Q_h[frames, d] K_h[keys, d]ᵀ for each head h of the block
                try batchedGemm(batch: count, operands.q, batchStride: operands.qStride,
                                RightOperand(matrix: operands.k, transposed: true), batchStride: operands.kvStride,
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
                let contextBlock = cb.columns(columns)
                try batchedGemm(batch: count, block.readOnly, batchStride: frames * keys,
                                RightOperand(matrix: operands.v, transposed: false), batchStride: operands.kvStride,
                                into: operands.context ?? contextBlock.columns(0..<headDim), batchStride: operands.qStride)
                if let headMajor = operands.context {
                    measure("attention head-major copy \(count)x\(frames)x\(headDim)") {
                        copyHeads(heads: count, headDim: headDim, rows: frames, from: (headMajor.readOnly.base, frames * headDim, headDim),
                                  to: (contextBlock.base, headDim, contextBlock.rowStride))
                    }
                }
            }
        }
    }

    /// The operands of one block of heads: views of the interleaved [frames, heads * d] matrices (head h at
    /// columns h * d, one batch stride of d), or, where oneDNN's brgemm kernels run (they take dense operands
    /// only, and otherwise the products run on gemm:jit, whose first call in a process generates its kernels),
    /// head-major copies [heads, frames, d] and a head-major context buffer to be copied back.
    private func headOperands(q: Matrix, k: Matrix, v: Matrix, heads: Int, headDim: Int)
        -> (q: Matrix, k: Matrix, v: Matrix, qStride: Int, kvStride: Int, context: MutableMatrix?) {
        guard runsBrgemm else {
            return (q.columns(0..<headDim), k.columns(0..<headDim), v.columns(0..<headDim), headDim, headDim, nil)
        }
        let frames = q.rows, keys = k.rows
        // [heads, frames, d] q, [heads, keys, d] k and v, [heads, frames, d] context, one after another
        let buffer = workspace.floats(Self.headMajorSlot, count: heads * headDim * (2 * frames + 2 * keys))
        let qh = MutableMatrix(buffer, rows: frames, columns: headDim)
        let kh = MutableMatrix(buffer + heads * frames * headDim, rows: keys, columns: headDim)
        let vh = MutableMatrix(buffer + heads * (frames + keys) * headDim, rows: keys, columns: headDim)
        let context = MutableMatrix(buffer + heads * (frames + 2 * keys) * headDim, rows: frames, columns: headDim)
        measure("attention head-major copy \(heads)x\(frames)x\(headDim)") {
            for (source, target) in [(q, qh), (k, kh), (v, vh)] {
                copyHeads(heads: heads, headDim: headDim, rows: source.rows,
                          from: (source.base, headDim, source.rowStride), to: (target.base, source.rows * headDim, headDim))
            }
        }
        return (qh.readOnly, kh.readOnly, vh.readOnly, frames * headDim, keys * headDim, context)
    }

    /// Copies `heads` [rows, d] blocks between layouts, each given as (first value, head stride, row stride): head h,
    /// row r of `source` at base + h * headStride + r * rowStride goes to the same place in `target`'s layout.
    private func copyHeads(heads: Int, headDim: Int, rows: Int, from source: (base: UnsafePointer<Float>, head: Int, row: Int),
                           to target: (base: UnsafeMutablePointer<Float>, head: Int, row: Int)) {
        forEachShare(heads) { _, range in
            for h in range {
                for r in 0..<rows {
                    (target.base + h * target.head + r * target.row).update(from: source.base + h * source.head + r * source.row,
                                                                            count: headDim)
                }
            }
        }
    }
}

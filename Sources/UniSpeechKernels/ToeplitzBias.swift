extension KernelContext {
    /// scores[q, k] += rowScales[q] * diagonals[(rows - 1) - q + k] for scores[rows, keys] with keys <= rows: a
    /// bias that depends only on k - q (`diagonals` holds one value per k - q from -(rows - 1) up), scaled per
    /// query row — WavLM's gated relative position bias on one head's attention scores.
    public func addRowScaledToeplitz(_ diagonals: [Float], rowScales: [Float], into scores: MutableMatrix) {
        let rows = scores.rows, keys = scores.columns
        precondition(rowScales.count == rows && keys <= rows && diagonals.count >= rows - 1 + keys,
                     "Toeplitz bias of \(diagonals.count) diagonals and \(rowScales.count) row scales on [\(rows), \(keys)]")
        measure("relative position bias \(rows)x\(keys)") {
            diagonals.withUnsafeBufferPointer { diagonal in
                rowScales.withUnsafeBufferPointer { scale in
                    forEachRowBlock(rows) { block in
                        for q in block {
                            let source = diagonal.baseAddress! + (rows - 1 - q), target = scores.base + q * scores.rowStride
                            let factor = scale[q]
                            for k in 0..<keys { target[k] += factor * source[k] }
                        }
                    }
                }
            }
        }
    }
}

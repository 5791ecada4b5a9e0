import Foundation

extension KernelContext {
    /// y[r, c] = x[r, c] * sigmoid(x[r, C + c]) for x[rows, 2C] into y[rows, C]: torch's `glu` over the last axis
    /// (the first half of the channels gated by the second).
    public func glu(_ x: Matrix, into y: MutableMatrix) {
        let width = y.columns
        precondition(x.columns == 2 * width && x.rows == y.rows, "glu of [\(x.rows), \(x.columns)] into [\(y.rows), \(y.columns)]")
        measure("glu \(y.rows)x\(width)") {
            forEachRowBlock(y.rows) { rows in
                for row in rows {
                    let values = x.base + row * x.rowStride, target = y.base + row * y.rowStride
                    for c in 0..<width { target[c] = values[c] / (1 + Foundation.exp(-values[width + c])) }
                }
            }
        }
    }
}

extension KernelContext {
    /// The input windows of a 1-D convolution over time-major x[length, C], one row per output frame (im2col):
    /// windows[t, tap * C + c] = x[t * stride + tap * dilation - padding, c], 0 where that frame lies outside x.
    /// `windows` is [geometry.outputLength(length), kernel * C]; times a weight matrix in window order
    /// [out, kernel * C] it gives the convolution.
    public func unfold(_ x: Matrix, _ geometry: ConvGeometry, into windows: MutableMatrix) {
        let channels = x.columns, length = x.rows
        precondition(windows.rows == geometry.outputLength(length) && windows.columns == geometry.kernel * channels,
                     "unfolding [\(length), \(channels)] with kernel \(geometry.kernel) into [\(windows.rows), \(windows.columns)]")
        measure("unfold \(windows.rows)x\(windows.columns)") {
            forEachRowBlock(windows.rows) { rows in
                for row in rows {
                    let first = row * geometry.stride - geometry.padding
                    let target = windows.base + row * windows.rowStride
                    for tap in 0..<geometry.kernel {
                        let time = first + tap * geometry.dilation
                        let destination = target + tap * channels
                        if time < 0 || time >= length {
                            destination.update(repeating: 0, count: channels)
                        } else {
                            destination.update(from: x.base + time * x.rowStride, count: channels)
                        }
                    }
                }
            }
        }
    }
}

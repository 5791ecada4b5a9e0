import CKernels
/// A 1-D convolution's weights, rearranged for im2col + sgemm on time-major data.
public struct ConvWeights: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let groups: Int
    /// [outChannels, kernel, inChannels / groups]: each output channel's taps in im2col row order.
    let weight: FloatStorage
    /// [outChannels], or nil.
    let bias: FloatStorage?

    /// Builds from torch's Conv1d layout `torchWeight` [outChannels, inChannels / groups, kernel], each tap
    /// multiplied by `tapScales[tap]` when given (weight norm over every dim but the tap).
    public init(torchWeight: FloatStorage, bias: FloatStorage?, inChannels: Int, outChannels: Int,
                kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1, tapScales: [Float]? = nil) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "channels must divide into groups")
        let perGroup = inChannels / groups
        precondition(torchWeight.count == outChannels * perGroup * kernel, "conv weight has the wrong size")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.bias = bias
        let scales = tapScales ?? [Float](repeating: 1, count: kernel)
        precondition(scales.count == kernel, "one scale per tap")
        let reordered = [Float](unsafeUninitializedCapacity: torchWeight.count) { target, initialized in
            torchWeight.withUnsafeBufferPointer { source in
                scales.withUnsafeBufferPointer { scale in
                    for out in 0..<outChannels {
                        let from = source.baseAddress! + out * perGroup * kernel  // [input, tap]
                        let to = target.baseAddress! + out * kernel * perGroup  // [tap, input]
                        // One output channel's block stays in cache; the inner loop runs along the longer side.
                        if kernel >= perGroup {
                            for input in 0..<perGroup {
                                for tap in 0..<kernel { to[tap * perGroup + input] = from[input * kernel + tap] * scale[tap] }
                            }
                        } else {
                            for tap in 0..<kernel {
                                let factor = scale[tap]
                                for input in 0..<perGroup { to[tap * perGroup + input] = from[input * kernel + tap] * factor }
                            }
                        }
                    }
                }
            }
            initialized = torchWeight.count
        }
        weight = FloatStorage(reordered)
    }

    /// Output frames for `length` input frames.
    public func outputLength(_ length: Int) -> Int {
        let padded = length + 2 * padding
        return padded >= kernel ? (padded - kernel) / stride + 1 : 0
    }
}

extension Kernels {
    /// Upper bound on the im2col block, in floats; longer inputs are convolved in row blocks that stay in cache.
    static let im2colBlockFloats = 1 << 19

    /// y[outLength, outChannels] = conv(x[length, inChannels]) with zero padding, time-major, into `y` (room for
    /// `conv.outputLength(length) * outChannels` floats, not overlapping x); returns outLength.
    static func conv1d(_ x: UnsafePointer<Float>, length: Int, _ conv: ConvWeights, into y: UnsafeMutablePointer<Float>,
                       workspace: Workspace) -> Int {
        let outLength = conv.outputLength(length)
        guard outLength > 0 else { return 0 }
        if conv.padding == 0 && conv.groups == 1 {
            if conv.inChannels == 1 { mono(x, outLength: outLength, conv, into: y) } else { strided(x, outLength: outLength, conv, into: y) }
        } else {
            im2col(x, length: length, outLength: outLength, conv, into: y, workspace: workspace)
        }
        return outLength
    }

    /// Padded or grouped conv: im2col in row blocks, one sgemm per block and group.
    private static func im2col(_ x: UnsafePointer<Float>, length: Int, outLength: Int, _ conv: ConvWeights,
                               into y: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let cin = conv.inChannels, cout = conv.outChannels
        let groupIn = cin / conv.groups, groupOut = cout / conv.groups
        let rowWidth = conv.kernel * groupIn
        let blockRows = max(1, min(outLength, im2colBlockFloats / rowWidth))
        let columns = workspace.buffer(.columns, count: blockRows * rowWidth)  // [blockRows, kernel * groupIn]
        withOptionalPointer(conv.bias) { bias in
            if let bias {
                for row in 0..<outLength { (y + row * cout).update(from: bias, count: cout) }
            }
            conv.weight.withUnsafeBufferPointer { wp in
                for group in 0..<conv.groups {
                    var start = 0
                    while start < outLength {
                        let rows = min(blockRows, outLength - start)
                        // columns[r, tap * groupIn + c] = x[(start + r) * stride + tap - padding, group * groupIn + c]
                        for r in 0..<rows {
                            let first = (start + r) * conv.stride - conv.padding
                            for tap in 0..<conv.kernel {
                                let destination = columns + r * rowWidth + tap * groupIn
                                let time = first + tap
                                if time < 0 || time >= length {
                                    destination.update(repeating: 0, count: groupIn)
                                } else {
                                    destination.update(from: x + time * cin + group * groupIn, count: groupIn)
                                }
                            }
                        }
                        // [rows, groupOut] += columns[rows, rowWidth] * W_group[groupOut, rowWidth]^T
                        gemm(m: rows, n: groupOut, k: rowWidth, a: columns, lda: rowWidth,
                             b: wp.baseAddress! + group * groupOut * rowWidth, ldb: rowWidth, transposeB: true,
                             beta: bias == nil ? 0 : 1, c: y + start * cout + group * groupOut, ldc: cout)
                        start += rows
                    }
                }
            }
        }
    }

    /// Unpadded conv of a single-channel signal (the first layer on raw audio), vectorised over output channels:
    /// its GEMM would have K = kernel, far too small for sgemm to run near peak.
    private static func mono(_ x: UnsafePointer<Float>, outLength: Int, _ conv: ConvWeights, into y: UnsafeMutablePointer<Float>) {
        let cout = conv.outChannels, kernel = conv.kernel
        let tapMajor = conv.weight.withUnsafeBufferPointer { w in  // [kernel, cout] of [cout, kernel]
            (0..<(kernel * cout)).map { w[($0 % cout) * kernel + $0 / cout] }
        }
        withOptionalPointer(conv.bias) { bias in
            tapMajor.withUnsafeBufferPointer { w in
                forEachRowBlock(outLength) { frames in
                    ck_conv1d_mono(x + frames.lowerBound * conv.stride, frames.count, kernel, conv.stride, w.baseAddress!, bias,
                                   cout, y + frames.lowerBound * cout)
                }
            }
        }
    }

    /// Unpadded, ungrouped conv without im2col: on time-major x the taps of output frame t are the
    /// contiguous values x[t * stride ..< t * stride + kernel, :], so each run of `stride` taps is a plain
    /// matrix with row stride stride * cin, multiplied straight from x.
    private static func strided(_ x: UnsafePointer<Float>, outLength: Int, _ conv: ConvWeights, into y: UnsafeMutablePointer<Float>) {
        let cin = conv.inChannels, cout = conv.outChannels, rowWidth = conv.kernel * cin
        conv.weight.withUnsafeBufferPointer { wp in
            withOptionalPointer(conv.bias) { bias in
                if let bias {
                    for row in 0..<outLength { (y + row * cout).update(from: bias, count: cout) }
                }
                for firstTap in stride(from: 0, to: conv.kernel, by: conv.stride) {
                    let taps = min(conv.stride, conv.kernel - firstTap)
                    // y[outLength, cout] += X_taps[outLength, taps * cin] W[:, taps][cout, taps * cin]^T
                    gemm(m: outLength, n: cout, k: taps * cin,
                         a: x + firstTap * cin, lda: conv.stride * cin,
                         b: wp.baseAddress! + firstTap * cin, ldb: rowWidth, transposeB: true,
                         beta: bias == nil && firstTap == 0 ? 0 : 1, c: y, ldc: cout)
                }
            }
        }
    }
}

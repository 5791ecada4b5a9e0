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
                        for input in 0..<perGroup {
                            let from = source.baseAddress! + (out * perGroup + input) * kernel
                            let to = target.baseAddress! + out * kernel * perGroup + input
                            // [out, input, tap] -> [out, tap, input]
                            for tap in 0..<kernel { to[tap * perGroup] = from[tap] * scale[tap] }
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
    /// Upper bound on the im2col buffer, in floats; longer inputs are convolved in row blocks.
    static let im2colBlockFloats = 1 << 21

    /// y[outLength, outChannels] = conv(x[length, inChannels]) with zero padding, time-major.
    public static func conv1d(_ x: [Float], length: Int, _ conv: ConvWeights) -> (values: [Float], length: Int) {
        precondition(x.count == length * conv.inChannels, "conv input has \(x.count) values, expected \(length) x \(conv.inChannels)")
        let outLength = conv.outputLength(length)
        let cin = conv.inChannels, cout = conv.outChannels
        let groupIn = cin / conv.groups, groupOut = cout / conv.groups
        let rowWidth = conv.kernel * groupIn
        guard outLength > 0 else { return ([], 0) }
        if conv.padding == 0 && conv.groups == 1 {
            return (cin == 1 ? mono(x, outLength: outLength, conv) : strided(x, outLength: outLength, conv), outLength)
        }
        var y = [Float](repeating: 0, count: outLength * cout)
        let blockRows = max(1, min(outLength, im2colBlockFloats / rowWidth))
        var columns = [Float](repeating: 0, count: blockRows * rowWidth)
        y.withUnsafeMutableBufferPointer { yp in
            if let bias = conv.bias {
                bias.withUnsafeBufferPointer { bp in
                    for row in 0..<outLength { (yp.baseAddress! + row * cout).update(from: bp.baseAddress!, count: cout) }
                }
            }
            x.withUnsafeBufferPointer { xp in
                conv.weight.withUnsafeBufferPointer { wp in
                    columns.withUnsafeMutableBufferPointer { cp in
                        for group in 0..<conv.groups {
                            var start = 0
                            while start < outLength {
                                let rows = min(blockRows, outLength - start)
                                // im2col: columns[r, tap * groupIn + c] = x[(start + r) * stride + tap - padding, group * groupIn + c]
                                for r in 0..<rows {
                                    let first = (start + r) * conv.stride - conv.padding
                                    for tap in 0..<conv.kernel {
                                        let destination = cp.baseAddress! + r * rowWidth + tap * groupIn
                                        let time = first + tap
                                        if time < 0 || time >= length {
                                            destination.update(repeating: 0, count: groupIn)
                                        } else {
                                            destination.update(from: xp.baseAddress! + time * cin + group * groupIn, count: groupIn)
                                        }
                                    }
                                }
                                // [rows, groupOut] += columns[rows, rowWidth] * W_group[groupOut, rowWidth]^T
                                gemm(m: rows, n: groupOut, k: rowWidth, a: cp.baseAddress!, lda: rowWidth,
                                     b: wp.baseAddress! + group * groupOut * rowWidth, ldb: rowWidth, transposeB: true,
                                     beta: conv.bias == nil ? 0 : 1,
                                     c: yp.baseAddress! + start * cout + group * groupOut, ldc: cout)
                                start += rows
                            }
                        }
                    }
                }
            }
        }
        return (y, outLength)
    }

    /// Unpadded conv of a single-channel signal (the first layer on raw audio), vectorised over output channels:
    /// its GEMM would have K = kernel, far too small for sgemm to run near peak.
    private static func mono(_ x: [Float], outLength: Int, _ conv: ConvWeights) -> [Float] {
        let cout = conv.outChannels, kernel = conv.kernel
        let tapMajor = conv.weight.withUnsafeBufferPointer { w in  // [kernel, cout] of [cout, kernel]
            (0..<(kernel * cout)).map { w[($0 % cout) * kernel + $0 / cout] }
        }
        return [Float](unsafeUninitializedCapacity: outLength * cout) { y, initialized in
            x.withUnsafeBufferPointer { xp in
                withOptionalPointer(conv.bias) { bias in
                    ck_conv1d_mono(xp.baseAddress!, outLength, kernel, conv.stride, tapMajor, bias, cout, y.baseAddress!)
                }
            }
            initialized = outLength * cout
        }
    }

    /// Unpadded, ungrouped conv without im2col: on time-major x the taps of output frame t are the
    /// contiguous values x[t * stride ..< t * stride + kernel, :], so each run of `stride` taps is a plain
    /// matrix with row stride stride * cin, multiplied straight from x.
    private static func strided(_ x: [Float], outLength: Int, _ conv: ConvWeights) -> [Float] {
        let cin = conv.inChannels, cout = conv.outChannels, rowWidth = conv.kernel * cin
        var y = [Float](unsafeUninitializedCapacity: outLength * cout) { _, initialized in initialized = outLength * cout }
        y.withUnsafeMutableBufferPointer { yp in
            x.withUnsafeBufferPointer { xp in
                conv.weight.withUnsafeBufferPointer { wp in
                    withOptionalPointer(conv.bias) { bias in
                        if let bias {
                            for row in 0..<outLength { (yp.baseAddress! + row * cout).update(from: bias, count: cout) }
                        }
                        for firstTap in stride(from: 0, to: conv.kernel, by: conv.stride) {
                            let taps = min(conv.stride, conv.kernel - firstTap)
                            // y[outLength, cout] += X_taps[outLength, taps * cin] W[:, taps][cout, taps * cin]^T
                            gemm(m: outLength, n: cout, k: taps * cin,
                                 a: xp.baseAddress! + firstTap * cin, lda: conv.stride * cin,
                                 b: wp.baseAddress! + firstTap * cin, ldb: rowWidth, transposeB: true,
                                 beta: bias == nil && firstTap == 0 ? 0 : 1, c: yp.baseAddress!, ldc: cout)
                        }
                    }
                }
            }
        }
        return y
    }
}

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
                    reorderToWindowOrder(source.baseAddress!, into: target.baseAddress!, outChannels: outChannels,
                                         inputs: perGroup, kernel: kernel) { value, tap in value * scale[tap] }
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

/// Copies torch's Conv1d weight layout [out, inputs, tap] into window order [out, tap, inputs] (each output channel's
/// taps as they lie in a time-major input window), passing each value through `transform(value, tap)`.
@inline(__always)
private func reorderToWindowOrder<T>(_ source: UnsafePointer<T>, into target: UnsafeMutablePointer<T>, outChannels: Int,
                                     inputs: Int, kernel: Int, _ transform: (T, Int) -> T) {
    for out in 0..<outChannels {
        let from = source + out * inputs * kernel  // [input, tap]
        let to = target + out * kernel * inputs  // [tap, input]
        // One output channel's block stays in cache; the inner loop runs along the longer side.
        if kernel >= inputs {
            for input in 0..<inputs {
                for tap in 0..<kernel { to[tap * inputs + input] = transform(from[input * kernel + tap], tap) }
            }
        } else {
            for tap in 0..<kernel {
                for input in 0..<inputs { to[tap * inputs + input] = transform(from[input * kernel + tap], tap) }
            }
        }
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

    /// Padded or grouped conv: im2col in row blocks, one sgemm per block and group; the (group, block) pairs
    /// are shared among the threads, each with its own im2col buffer and a single-threaded sgemm.
    private static func im2col(_ x: UnsafePointer<Float>, length: Int, outLength: Int, _ conv: ConvWeights,
                               into y: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let cin = conv.inChannels, cout = conv.outChannels
        let groupIn = cin / conv.groups, groupOut = cout / conv.groups
        let rowWidth = conv.kernel * groupIn
        let blockRows = max(1, min(outLength, im2colBlockFloats / rowWidth))
        let blocks = (outLength + blockRows - 1) / blockRows
        let shares = min(threads, conv.groups * blocks)
        let columns = workspace.buffer(.columns, count: shares * blockRows * rowWidth)  // [shares, blockRows, kernel * groupIn]
        withOptionalPointer(conv.bias) { bias in
            if let bias {
                for row in 0..<outLength { (y + row * cout).update(from: bias, count: cout) }
            }
            conv.weight.withUnsafeBufferPointer { wp in
                withSingleThreadedBLAS {
                    forEachShare(conv.groups * blocks, shares: shares) { share, units in
                        let columns = columns + share * blockRows * rowWidth
                        for unit in units {
                            let group = unit / blocks, start = (unit % blocks) * blockRows
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
                        }
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

/// An unpadded, ungrouped 1-D convolution with int8 weights, run as u8 x s8 matmuls over its input windows.
public struct QuantizedConvWeights: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    /// W s8 [outChannels, kernel * inChannels] (taps in window order) with one scale per output channel.
    let matmul: Int8Matmul
    /// [outChannels], or nil.
    let bias: FloatStorage?

    /// Builds from torch's Conv1d layout `torchWeight` s8 [outChannels, inChannels, kernel] with one scale per
    /// output channel (`w[o, i, k] = q[o, i, k] * scales[o]`), reordered once to [outChannels, kernel, inChannels].
    public init(torchWeight: TensorBytes, scales: [Float], bias: FloatStorage?, inChannels: Int, outChannels: Int,
                kernel: Int, stride: Int) {
        let count = outChannels * inChannels * kernel
        precondition(torchWeight.count == count && scales.count == outChannels, "int8 conv weight has the wrong size")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.bias = bias
        let reordered = [Int8](unsafeUninitializedCapacity: count) { target, initialized in
            torchWeight.withUnsafeBytes { raw in
                reorderToWindowOrder(raw.baseAddress!.assumingMemoryBound(to: Int8.self), into: target.baseAddress!,
                                     outChannels: outChannels, inputs: inChannels, kernel: kernel) { value, _ in value }
            }
            initialized = count
        }
        matmul = Int8Matmul(weights: TensorBytes(values: reordered), scales: scales, outputs: outChannels,
                            inputs: kernel * inChannels)
    }

    /// Output frames for `length` input frames.
    public func outputLength(_ length: Int) -> Int {
        length >= kernel ? (length - kernel) / stride + 1 : 0
    }
}

extension Kernels {
    /// Upper bound on one int8 conv block's window rows, in bytes of u8 codes: longer inputs run as several
    /// matmuls, so the matmul scratch (codes and s32 products, ~10 MB) does not grow with the input. Base model,
    /// 10 s: at 1 thread 128 KB up to the whole input ran the same; at 2 threads blocks under 1 MB ran 2-3x
    /// slower while 2 MB up to the whole input ran the same.
    static let int8ConvBlockBytes = 1 << 22

    /// y[outLength, outChannels] = conv(x[length, inChannels]) time-major, into `y`; returns outLength. On
    /// time-major x the window of output frame t is the contiguous run x[t * stride ..< t * stride + kernel, :],
    /// so the windows are the rows (row stride stride * inChannels, overlapping when kernel > stride) of an
    /// int8 matmul that quantises each row on its own: every window gets its own scale and zero point, which
    /// factor out of its own dot products, and no im2col copy is made. Blocks hold up to `blockBytes` of codes.
    static func conv1d(_ x: UnsafePointer<Float>, length: Int, _ conv: QuantizedConvWeights,
                       into y: UnsafeMutablePointer<Float>, blockBytes: Int = int8ConvBlockBytes) -> Int {
        let outLength = conv.outputLength(length)
        guard outLength > 0 else { return 0 }
        let cout = conv.outChannels, windowStride = conv.stride * conv.inChannels
        let blockRows = max(1, min(outLength, blockBytes / conv.matmul.inputs))
        withOptionalPointer(conv.bias) { bias in
            var start = 0
            while start < outLength {
                let rows = min(blockRows, outLength - start)
                do {
                    // y[rows, cout] = windows[rows, kernel * cin] W[cout, kernel * cin]^T + bias
                    try conv.matmul.apply(x + start * windowStride, rows: rows, rowStride: windowStride, bias: bias,
                                          into: y + start * cout)
                } catch {
                    preconditionFailure("int8 conv layer: \(error.localizedDescription)")
                }
                start += rows
            }
        }
        return outLength
    }
}

import CKernels
import Synchronization
import UniSpeechCore

/// Kernel size, stride, zero padding (each side) and dilation of a 1-D convolution: the one output-length formula.
public struct ConvGeometry: Sendable, Equatable {
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let dilation: Int

    public init(kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// Output frames for `length` input frames (torch's Conv1d formula; 0 when the input is too short).
    public func outputLength(_ length: Int) -> Int {
        let span = dilation * (kernel - 1) + 1, padded = length + 2 * padding
        return padded >= span ? (padded - span) / stride + 1 : 0
    }

    /// The input frames that output frames `frames` read, for an unpadded conv (padded convs read outside the input).
    public func inputRange(of frames: Range<Int>) -> Range<Int> {
        precondition(padding == 0, "input ranges are for unpadded convs")
        guard !frames.isEmpty else { return frames.lowerBound * stride..<frames.lowerBound * stride }
        return (frames.lowerBound * stride)..<((frames.upperBound - 1) * stride + dilation * (kernel - 1) + 1)
    }
}

/// A 1-D convolution's weights on time-major data: f32 rearranged for GEMM, or int8 run as u8 x s8 products.
public struct ConvWeights: Sendable {
    enum Product: Sendable {
        /// Plain (unpadded, ungrouped, undilated) convs: [outChannels, kernel, inChannels]: each output channel's
        /// taps in the order they lie in a time-major input window.
        case float(FloatStorage)
        /// Padded, grouped or dilated convs (the positional conv), kept in torch's layout.
        case general(GeneralConvWeights)
        /// s8 [outChannels, kernel * inChannels] in window order, one scale per output channel (ungrouped,
        /// unpadded, undilated convs only).
        case int8(Int8Weights)
    }

    public let inChannels: Int
    public let outChannels: Int
    public let groups: Int
    public let geometry: ConvGeometry
    let product: Product
    /// [outChannels], or nil.
    let bias: FloatStorage?

    /// Builds from torch's Conv1d layout `torchWeight` [outChannels, inChannels / groups, kernel], each tap
    /// multiplied by `tapScales[tap]` when given (weight norm over every dim but the tap).
    public init(torchWeight: FloatStorage, bias: FloatStorage?, inChannels: Int, outChannels: Int, geometry: ConvGeometry,
                groups: Int = 1, tapScales: [Float]? = nil) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "channels must divide into groups")
        let perGroup = inChannels / groups, kernel = geometry.kernel
        precondition(torchWeight.count == outChannels * perGroup * kernel, "conv weight has the wrong size")
        let scales = tapScales ?? [Float](repeating: 1, count: kernel)
        precondition(scales.count == kernel, "one scale per tap")
        if geometry.padding != 0 || geometry.dilation != 1 || groups != 1 {
            self.init(inChannels: inChannels, outChannels: outChannels, groups: groups, geometry: geometry,
                      product: .general(GeneralConvWeights(torchLayout: torchWeight, tapScales: scales, outChannels: outChannels,
                                                           inputs: perGroup)),
                      bias: bias)
            return
        }
        let reordered = scaledWindowOrder(torchWeight, tapScales: scales, outChannels: outChannels, inputs: perGroup,
                                          chunkTaps: inChannels == 1 ? kernel : geometry.stride)
        self.init(inChannels: inChannels, outChannels: outChannels, groups: groups, geometry: geometry,
                  product: .float(FloatStorage(reordered)), bias: bias)
    }

    /// Builds from torch's Conv1d layout `torchWeight` s8 [outChannels, inChannels, kernel] with one scale per
    /// output channel (`w[o, i, k] = q[o, i, k] * scales[o]`), reordered once to window order.
    public init(int8Weight torchWeight: TensorBytes, scales: [Float], bias: FloatStorage?, inChannels: Int, outChannels: Int,
                geometry: ConvGeometry) {
        let count = outChannels * inChannels * geometry.kernel
        precondition(torchWeight.count == count && scales.count == outChannels, "int8 conv weight has the wrong size")
        precondition(geometry.padding == 0 && geometry.dilation == 1, "int8 convs are unpadded and undilated")
        let reordered = [Int8](unsafeUninitializedCapacity: count) { target, initialized in
            torchWeight.withUnsafeBytes { raw in
                reorderToWindowOrder(raw.baseAddress!.assumingMemoryBound(to: Int8.self), into: target.baseAddress!,
                                     outChannels: outChannels, inputs: inChannels, kernel: geometry.kernel) { value, _ in value }
            }
            initialized = count
        }
        self.init(inChannels: inChannels, outChannels: outChannels, groups: 1, geometry: geometry,
                  product: .int8(Int8Weights(values: TensorBytes(values: reordered), scales: scales, outputs: outChannels,
                                             inputs: geometry.kernel * inChannels)),
                  bias: bias)
    }

    private init(inChannels: Int, outChannels: Int, groups: Int, geometry: ConvGeometry, product: Product, bias: FloatStorage?) {
        precondition(bias.map { $0.count == outChannels } ?? true, "conv bias size")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.groups = groups
        self.geometry = geometry
        self.product = product
        self.bias = bias
    }

    /// Output frames for `length` input frames.
    public func outputLength(_ length: Int) -> Int { geometry.outputLength(length) }

    /// Weight norm as per-tap factors: weight = g * v / ||v|| with the norm over all dims except dim 2 (the tap),
    /// v [out, in, kernel], g [kernel]; returns g[tap] / ||v[:, :, tap]||.
    public static func weightNormScales(magnitude: [Float], direction: FloatStorage, kernel: Int) -> [Float] {
        var squares = [Double](repeating: 0, count: kernel)
        direction.withUnsafeBufferPointer { v in
            squares.withUnsafeMutableBufferPointer { square in
                let lanes = 4, vectorTaps = kernel / lanes * lanes
                let sums = UnsafeMutableRawPointer(square.baseAddress!)
                for start in stride(from: 0, to: v.count, by: kernel) {
                    let row = UnsafeRawPointer(v.baseAddress! + start)
                    // Four taps at a time (SIMD loads: ~3x the scalar loop); each tap's sum still adds the rows in order.
                    for tap in stride(from: 0, to: vectorTaps, by: lanes) {
                        let x = SIMD4<Double>(row.loadUnaligned(fromByteOffset: tap * MemoryLayout<Float>.stride, as: SIMD4<Float>.self))
                        let offset = tap * MemoryLayout<Double>.stride
                        sums.storeBytes(of: sums.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self) + x * x,
                                        toByteOffset: offset, as: SIMD4<Double>.self)
                    }
                    for tap in vectorTaps..<kernel { square[tap] += Double(v[start + tap]) * Double(v[start + tap]) }
                }
            }
        }
        return (0..<kernel).map { Float(Double(magnitude[$0]) / squares[$0].squareRoot()) }
    }
}

/// The weights of a padded, grouped or dilated conv as stored: torch's layout [out, in / groups, kernel] (used in place
/// from the mapped file for f32) with a scale per tap (weight norm). oneDNN's convolution gets them reordered into the
/// layout it picks, scaled on the way; im2col gets them in window order, made only where that path runs.
final class GeneralConvWeights: @unchecked Sendable {
    let torchLayout: FloatStorage
    /// [kernel]
    let tapScales: [Float]
    private let outChannels: Int
    private let inputs: Int
    private let windowOrder = Mutex<[Float]?>(nil)
    /// The layouts oneDNN's convolutions asked for.
    let onednn = ReorderedConvWeights()

    init(torchLayout: FloatStorage, tapScales: [Float], outChannels: Int, inputs: Int) {
        self.torchLayout = torchLayout
        self.tapScales = tapScales
        self.outChannels = outChannels
        self.inputs = inputs
    }

    /// Calls `body` with the weights in window order [out, kernel, in / groups], made on first use.
    func withWindowOrder<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        let reordered = windowOrder.withLock { cached -> [Float] in
            if let cached { return cached }
            let made = scaledWindowOrder(torchLayout, tapScales: tapScales, outChannels: outChannels, inputs: inputs)
            cached = made
            return made
        }
        return try reordered.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }
}

/// torch's Conv1d weight layout [out, inputs, kernel] as window order [out, kernel, inputs]: each output channel's
/// taps as they lie in a time-major input window (a conv as the linear map of its input windows).
public func convWindowOrder<T>(_ values: [T], inputs: Int, kernel: Int) -> [T] {
    precondition(inputs > 0 && kernel > 0 && values.count % (inputs * kernel) == 0, "conv weight has the wrong size")
    return [T](unsafeUninitializedCapacity: values.count) { target, initialized in
        values.withUnsafeBufferPointer { source in
            reorderToWindowOrder(source.baseAddress!, into: target.baseAddress!, outChannels: values.count / (inputs * kernel),
                                 inputs: inputs, kernel: kernel) { value, _ in value }
        }
        initialized = values.count
    }
}

/// torch's Conv1d weights [out, inputs, tap] in window order (chunked by `chunkTaps`, see `reorderToWindowOrder`),
/// each tap multiplied by its weight-norm scale.
private func scaledWindowOrder(_ torchWeight: FloatStorage, tapScales: [Float], outChannels: Int, inputs: Int,
                               chunkTaps: Int? = nil) -> [Float] {
    [Float](unsafeUninitializedCapacity: torchWeight.count) { target, initialized in
        torchWeight.withUnsafeBufferPointer { source in
            tapScales.withUnsafeBufferPointer { scale in
                reorderToWindowOrder(source.baseAddress!, into: target.baseAddress!, outChannels: outChannels, inputs: inputs,
                                     kernel: tapScales.count, chunkTaps: chunkTaps) { value, tap in value * scale[tap] }
            }
        }
        initialized = torchWeight.count
    }
}

/// Copies torch's Conv1d weight layout [out, inputs, tap] into window order [out, tap, inputs] (each output channel's
/// taps as they lie in a time-major input window), passing each value through `transform(value, tap)`.
/// With `chunkTaps` < kernel the taps are split into chunks of `chunkTaps` (the last may be shorter), each chunk a
/// dense [out, taps of the chunk, inputs] block, the chunks one after another: every chunk is then a plain matrix.
@inline(__always)
private func reorderToWindowOrder<T>(_ source: UnsafePointer<T>, into target: UnsafeMutablePointer<T>, outChannels: Int,
                                     inputs: Int, kernel: Int, chunkTaps: Int? = nil, _ transform: (T, Int) -> T) {
    let chunkTaps = chunkTaps ?? kernel
    for firstTap in stride(from: 0, to: kernel, by: chunkTaps) {
        let taps = min(chunkTaps, kernel - firstTap), chunk = target + outChannels * firstTap * inputs
        for out in 0..<outChannels {
            let from = source + out * inputs * kernel + firstTap  // [input, tap]
            let to = chunk + out * taps * inputs  // [tap, input]
            // One output channel's block stays in cache; the inner loop runs along the longer side.
            if taps >= inputs {
                for input in 0..<inputs {
                    for tap in 0..<taps { to[tap * inputs + input] = transform(from[input * kernel + tap], firstTap + tap) }
                }
            } else {
                for tap in 0..<taps {
                    for input in 0..<inputs { to[tap * inputs + input] = transform(from[input * kernel + tap], firstTap + tap) }
                }
            }
        }
    }
}

extension KernelContext {
    static let columnsSlot = WorkspaceSlot("kernels.im2col")
    static let tapMajorSlot = WorkspaceSlot("kernels.tap-major-weights")

    /// Upper bound on the im2col block, in floats; longer inputs are convolved in row blocks.
    static let im2colBlockFloats = 1 << 22

    /// Upper bound on one int8 conv block's window rows, in bytes of u8 codes: longer inputs run as several
    /// products, so the scratch (codes and s32 products) does not grow with the input. Base model, 10 s: at
    /// 1 thread 128 KB up to the whole input ran the same; at 2 threads blocks under 1 MB ran 2-3x slower
    /// while 2 MB up to the whole input ran the same.
    public static let int8ConvBlockBytes = 1 << 22

    /// y[outLength, outChannels] = conv(x[length, inChannels]) time-major, into the first outLength rows of `y`;
    /// returns outLength.
    public func conv1d(_ x: Matrix, _ conv: ConvWeights, into y: MutableMatrix, int8BlockBytes: Int = int8ConvBlockBytes) throws -> Int {
        precondition(x.columns == conv.inChannels && y.columns == conv.outChannels && x.isContiguous && y.isContiguous,
                     "conv [\(conv.outChannels), \(conv.inChannels)] on [\(x.rows), \(x.columns)] into [\(y.rows), \(y.columns)]")
        let outLength = conv.outputLength(x.rows)
        precondition(y.rows >= outLength, "conv output needs \(outLength) rows, the view has \(y.rows)")
        guard outLength > 0 else { return 0 }
        let output = y.rows(0..<outLength)
        try withOptionalPointer(conv.bias) { bias in
            switch conv.product {
            case let .int8(weights):
                try int8Windows(x, conv, weights, bias: bias, into: output, blockBytes: int8BlockBytes)
            case let .float(weights):
                if conv.inChannels == 1 {
                    weights.withUnsafeBufferPointer { mono(x, conv, weights: $0.baseAddress!, bias: bias, into: output) }
                } else {
                    try weights.withUnsafeBufferPointer { try strided(x, conv, weights: $0.baseAddress!, bias: bias, into: output) }
                }
            case let .general(weights):
                if try !onednnConvolution(x, conv, weights, bias: bias, into: output) {
                    try weights.withWindowOrder { try im2col(x, conv, weights: $0, bias: bias, into: output) }
                }
            }
        }
        return outLength
    }

    /// Unpadded conv of a single-channel signal (the first layer on raw audio), vectorised over output channels:
    /// its GEMM would have K = kernel, far too small to run near peak.
    private func mono(_ x: Matrix, _ conv: ConvWeights, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                      into y: MutableMatrix) {
        let cout = conv.outChannels, kernel = conv.geometry.kernel, stride = conv.geometry.stride
        let tapMajor = workspace.floats(Self.tapMajorSlot, count: kernel * cout)  // [kernel, cout] of [cout, kernel]
        for index in 0..<(kernel * cout) { tapMajor[index] = weights[(index % cout) * kernel + index / cout] }
        measure("conv mono \(y.rows)x\(kernel)x\(cout)", flops: 2 * Double(y.rows * kernel * cout)) {
            forEachRowBlock(y.rows) { frames in
                ck_conv1d_mono(x.base + frames.lowerBound * stride, frames.count, kernel, stride, tapMajor, bias, cout,
                               y.base + frames.lowerBound * cout)
            }
        }
    }

    /// Unpadded, ungrouped conv without im2col: on time-major x the taps of output frame t are the contiguous
    /// values x[t * stride ..< t * stride + kernel, :], so each run of `stride` taps is a plain matrix with row
    /// stride stride * cin, multiplied straight from x (weights: one dense block per run, `ConvWeights`).
    /// A last, shorter run (kernel 3, stride 2: tap 2) has rows longer than its columns; oneDNN's brgemm takes
    /// dense operands only and would leave it to gemm:jit at half the rate, so there it is copied dense first.
    private func strided(_ x: Matrix, _ conv: ConvWeights, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                         into y: MutableMatrix) throws {
        let cin = conv.inChannels, cout = conv.outChannels, kernel = conv.geometry.kernel, step = conv.geometry.stride
        for firstTap in stride(from: 0, to: kernel, by: step) {
            let taps = min(step, kernel - firstTap)
            // The windows' taps firstTap ..< firstTap + taps: [outLength, taps * cin] with row stride stride * cin.
            let windows = Matrix(x.base + firstTap * cin, rows: y.rows, columns: taps * cin, rowStride: step * cin)
            let w = RightOperand(matrix: Matrix(weights + cout * firstTap * cin, rows: cout, columns: taps * cin), transposed: true)
            // y[outLength, cout] (+)= windows W_taps[cout, taps * cin]ᵀ (+ bias, once)
            if taps == step || !runsBrgemm {
                try gemm(windows, w, bias: firstTap == 0 ? bias : nil, accumulate: firstTap > 0, into: y)
                continue
            }
            let blockRows = max(1, min(y.rows, Self.im2colBlockFloats / windows.columns))
            let dense = workspace.floats(Self.columnsSlot, count: blockRows * windows.columns)
            for start in stride(from: 0, to: y.rows, by: blockRows) {
                let rows = start..<min(start + blockRows, y.rows)
                let block = MutableMatrix(dense, rows: rows.count, columns: windows.columns)
                measure("conv window copy \(rows.count)x\(windows.columns)") { block.copy(from: windows.rows(rows)) }
                try gemm(block.readOnly, w, bias: firstTap == 0 ? bias : nil, accumulate: firstTap > 0, into: y.rows(rows))
            }
        }
    }

    /// Padded, grouped or dilated conv: the input windows of every group are copied into rows (im2col) a block of
    /// rows at a time, and one GEMM batched over the groups multiplies them (the groups' narrow products side by
    /// side keep every thread busy: 3x the per-group GEMMs with AVX2 in the probe).
    private func im2col(_ x: Matrix, _ conv: ConvWeights, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        into y: MutableMatrix) throws {
        let geometry = conv.geometry, length = x.rows, groups = conv.groups
        let groupIn = conv.inChannels / groups, groupOut = conv.outChannels / groups
        let rowWidth = geometry.kernel * groupIn
        let blockRows = max(1, min(y.rows, Self.im2colBlockFloats / (groups * rowWidth)))
        let columns = workspace.floats(Self.columnsSlot, count: groups * blockRows * rowWidth)  // [G, blockRows, kernel * groupIn]
        let w = Matrix(weights, rows: groupOut, columns: rowWidth)  // group 0's [groupOut, kernel * groupIn]; the others follow
        for start in stride(from: 0, to: y.rows, by: blockRows) {
            let rows = min(blockRows, y.rows - start)
            // columns[g, r, tap * groupIn + c] = x[(start + r) * stride + tap * dilation - padding, g * groupIn + c]
            measure("im2col \(groups)x\(rows)x\(rowWidth)") {
                forEachShare(groups * rows) { _, units in
                    for unit in units {
                        let group = unit / rows, r = unit % rows
                        let first = (start + r) * geometry.stride - geometry.padding
                        for tap in 0..<geometry.kernel {
                            let destination = columns + (group * blockRows + r) * rowWidth + tap * groupIn
                            let time = first + tap * geometry.dilation
                            if time < 0 || time >= length {
                                destination.update(repeating: 0, count: groupIn)
                            } else {
                                destination.update(from: x.base + time * x.rowStride + group * groupIn, count: groupIn)
                            }
                        }
                    }
                }
            }
            let block = y.rows(start..<(start + rows))
            if let bias { block.forEachRow { _, row in row.baseAddress!.update(from: bias, count: row.count) } }
            // y[rows, g * groupOut ..< (g + 1) * groupOut] (+)= columns_g W_gᵀ for every group g at once
            try batchedGemm(batch: groups, Matrix(columns, rows: rows, columns: rowWidth), batchStride: blockRows * rowWidth,
                            RightOperand(matrix: w, transposed: true), batchStride: groupOut * rowWidth,
                            accumulate: bias != nil, into: block.columns(0..<groupOut), batchStride: groupOut)
        }
    }

    /// int8 conv: the window of output frame t is the contiguous run x[t * stride ..< t * stride + kernel, :], so
    /// the windows are the rows (row stride stride * inChannels, overlapping when kernel > stride) of an int8
    /// product that quantises each row on its own: every window gets its own scale and zero point, which factor
    /// out of its own dot products, and no im2col copy is made. Blocks hold up to `blockBytes` of codes.
    private func int8Windows(_ x: Matrix, _ conv: ConvWeights, _ weights: Int8Weights, bias: UnsafePointer<Float>?,
                             into y: MutableMatrix, blockBytes: Int) throws {
        let windowStride = conv.geometry.stride * conv.inChannels
        let blockRows = max(1, min(y.rows, blockBytes / weights.inputs))
        for start in stride(from: 0, to: y.rows, by: blockRows) {
            let rows = min(blockRows, y.rows - start)
            // y[rows, cout] = windows[rows, kernel * cin] W[cout, kernel * cin]ᵀ + bias
            let windows = Matrix(x.base + start * windowStride, rows: rows, columns: weights.inputs, rowStride: windowStride)
            try int8Product(windows, weights, bias: bias, into: y.rows(start..<(start + rows)))
        }
    }
}

import CKernels

/// Scale and shift of a LayerNorm or GroupNorm, with its epsilon.
public struct NormWeights: Sendable {
    let weight: FloatStorage
    let bias: FloatStorage
    let epsilon: Float

    public init(weight: FloatStorage, bias: FloatStorage, epsilon: Float) {
        precondition(weight.count == bias.count, "norm weight and bias differ in size")
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }

    /// A norm without learned scale and shift (elementwise_affine=False): weight 1, bias 0.
    public init(size: Int, epsilon: Float) {
        self.init(weight: FloatStorage([Float](repeating: 1, count: size)), bias: FloatStorage([Float](repeating: 0, count: size)),
                  epsilon: epsilon)
    }

    public var size: Int { weight.count }
}

/// Per-channel sums and sums of squares over time, in double: a group norm's statistics, gathered block by block.
public struct ChannelMoments: Sendable {
    var sums: [Double]
    var squares: [Double]
    /// Frames added so far.
    public internal(set) var frames = 0

    public init(channels: Int) {
        sums = [Double](repeating: 0, count: channels)
        squares = [Double](repeating: 0, count: channels)
    }

    /// The per-channel scale and shift that normalise the frames seen with `norm`'s epsilon, weight and bias:
    /// y = (x - mean) / sqrt(variance + eps) * gamma + beta = x * scale + shift.
    public func normalization(_ norm: NormWeights) -> (scales: [Float], shifts: [Float]) {
        let channels = sums.count, count = Double(max(frames, 1))
        var scales = [Float](repeating: 0, count: channels), shifts = [Float](repeating: 0, count: channels)
        norm.weight.withUnsafeBufferPointer { gamma in
            norm.bias.withUnsafeBufferPointer { beta in
                for c in 0..<channels {
                    let mean = sums[c] / count
                    let variance = max(squares[c] / count - mean * mean, 0)
                    scales[c] = Float(1 / (variance + Double(norm.epsilon)).squareRoot()) * gamma[c]
                    shifts[c] = beta[c] - Float(mean) * scales[c]
                }
            }
        }
        return (scales, shifts)
    }
}

extension KernelContext {
    /// LayerNorm over the last axis of x[rows, size] into y (y may be x itself).
    public func layerNorm(_ x: Matrix, _ norm: NormWeights, into y: MutableMatrix) {
        precondition(x.columns == norm.size && y.rows == x.rows && y.columns == x.columns && x.isContiguous && y.isContiguous,
                     "layer norm of size \(norm.size) on [\(x.rows), \(x.columns)] into [\(y.rows), \(y.columns)]")
        measure("layer norm \(x.rows)x\(x.columns)") {
            norm.weight.withUnsafeBufferPointer { gamma in
                norm.bias.withUnsafeBufferPointer { beta in
                    forEachRowBlock(x.rows) { rows in
                        ck_layer_norm(x.base + rows.lowerBound * x.columns, y.base + rows.lowerBound * y.columns, rows.count,
                                      norm.size, gamma.baseAddress!, beta.baseAddress!, norm.epsilon)
                    }
                }
            }
        }
    }

    /// LayerNorm over the last axis of x, in place.
    public func layerNorm(_ x: MutableMatrix, _ norm: NormWeights) { layerNorm(x.readOnly, norm, into: x) }

    /// GroupNorm with one group per channel on time-major x[frames, channels]: each channel is normalised over
    /// time, in place; then `activation`, fused into the same pass for GELU.
    public func channelNormOverTime(_ x: MutableMatrix, _ norm: NormWeights, then activation: Activation) {
        var moments = ChannelMoments(channels: norm.size)
        accumulate(x.readOnly, into: &moments)
        let (scales, shifts) = moments.normalization(norm)
        scaleAndShiftChannels(x, scales: scales, shifts: shifts, then: activation)
    }

    /// Adds the per-channel sums of time-major x[frames, channels] to `moments` (a group norm over time computed a
    /// block of frames at a time).
    public func accumulate(_ x: Matrix, into moments: inout ChannelMoments) {
        precondition(x.columns == moments.sums.count && x.isContiguous, "channel moments of [\(x.rows), \(x.columns)]")
        measure("group norm moments \(x.rows)x\(x.columns)") {
            ck_channel_moments(x.base, x.rows, x.columns, &moments.sums, &moments.squares)
        }
        moments.frames += x.rows
    }

    /// x[r, c] = x[r, c] * scales[c] + shifts[c] in place (a batch norm in eval, a group norm's affine), then
    /// `activation`, fused into the same pass for GELU.
    public func scaleAndShiftChannels(_ x: MutableMatrix, scales: [Float], shifts: [Float], then activation: Activation = .linear) {
        let channels = x.columns
        precondition(scales.count == channels && shifts.count == channels && x.isContiguous, "per-channel affine sizes")
        let fused = activation == .gelu
        measure("per-channel affine \(x.rows)x\(channels)\(fused ? " gelu" : "")") {
            scales.withUnsafeBufferPointer { scale in
                shifts.withUnsafeBufferPointer { shift in
                    forEachRowBlock(x.rows) { block in
                        let start = x.base + block.lowerBound * channels
                        ck_affine_channels(start, block.count, channels, scale.baseAddress!, shift.baseAddress!, fused ? 1 : 0)
                        if !fused { activation.apply(start, count: block.count * channels) }
                    }
                }
            }
        }
    }

    /// y += x element-wise.
    public func add(_ x: Matrix, into y: MutableMatrix) {
        precondition(x.rows == y.rows && x.columns == y.columns, "adding [\(x.rows), \(x.columns)] to [\(y.rows), \(y.columns)]")
        measure("add \(y.rows)x\(y.columns)") {
            forEachRowBlock(y.rows) { rows in
                for row in rows {
                    let source = x.base + row * x.rowStride, target = y.base + row * y.rowStride
                    for column in 0..<y.columns { target[column] += source[column] }
                }
            }
        }
    }

    /// Applies `activation` to every value of x, in place.
    public func apply(_ activation: Activation, to x: MutableMatrix) {
        guard activation != .linear else { return }
        measure("\(activation.rawValue) \(x.rows)x\(x.columns)") {
            forEachRowBlock(x.rows) { rows in
                if x.isContiguous {
                    activation.apply(x.base + rows.lowerBound * x.columns, count: rows.count * x.columns)
                } else {
                    for row in rows { activation.apply(x.base + row * x.rowStride, count: x.columns) }
                }
            }
        }
    }
}

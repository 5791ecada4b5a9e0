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

    public var size: Int { weight.count }
}

extension Kernels {
    /// LayerNorm over the last axis of x[rows, size] into y (y may equal x).
    static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, _ norm: NormWeights, into y: UnsafeMutablePointer<Float>) {
        norm.weight.withUnsafeBufferPointer { gamma in
            norm.bias.withUnsafeBufferPointer { beta in
                ck_layer_norm(x, y, rows, norm.size, gamma.baseAddress!, beta.baseAddress!, norm.epsilon)
            }
        }
    }

    /// LayerNorm over the last axis of x[rows, size], in place.
    public static func layerNorm(_ x: inout [Float], rows: Int, _ norm: NormWeights) {
        precondition(x.count == rows * norm.size, "layer norm input has \(x.count) values, expected \(rows) x \(norm.size)")
        x.withUnsafeMutableBufferPointer { layerNorm($0.baseAddress!, rows: rows, norm, into: $0.baseAddress!) }
    }

    /// GroupNorm with one group per channel on time-major x[frames, channels]: each channel is normalised over
    /// time, in place; then `activation`, fused into the same pass for GELU.
    static func channelNormOverTime(_ x: UnsafeMutablePointer<Float>, frames: Int, _ norm: NormWeights, then activation: Activation) {
        let channels = norm.size
        var sums = [Double](repeating: 0, count: channels), squares = [Double](repeating: 0, count: channels)
        ck_channel_moments(x, frames, channels, &sums, &squares)
        var scales = [Float](repeating: 0, count: channels), shifts = [Float](repeating: 0, count: channels)
        norm.weight.withUnsafeBufferPointer { gamma in
            norm.bias.withUnsafeBufferPointer { beta in
                for c in 0..<channels {
                    let mean = sums[c] / Double(frames)
                    let variance = max(squares[c] / Double(frames) - mean * mean, 0)
                    scales[c] = Float(1 / (variance + Double(norm.epsilon)).squareRoot()) * gamma[c]
                    shifts[c] = beta[c] - Float(mean) * scales[c]
                }
            }
        }
        let fused = activation == .gelu
        scales.withUnsafeBufferPointer { scale in
            shifts.withUnsafeBufferPointer { shift in
                forEachRowBlock(frames) { block in
                    let start = x + block.lowerBound * channels
                    ck_affine_channels(start, block.count, channels, scale.baseAddress!, shift.baseAddress!, fused ? 1 : 0)
                    if !fused { activation.apply(start, count: block.count * channels) }
                }
            }
        }
    }
}

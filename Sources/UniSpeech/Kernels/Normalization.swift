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
    /// LayerNorm over the last axis of x[rows, size], in place.
    public static func layerNorm(_ x: inout [Float], rows: Int, _ norm: NormWeights) {
        let size = norm.size
        precondition(x.count == rows * size, "layer norm input has \(x.count) values, expected \(rows) x \(size)")
        norm.weight.withUnsafeBufferPointer { gamma in
            norm.bias.withUnsafeBufferPointer { beta in
                x.withUnsafeMutableBufferPointer { xp in
                    for row in 0..<rows {
                        let v = xp.baseAddress! + row * size
                        var sum = 0.0
                        for i in 0..<size { sum += Double(v[i]) }
                        let mean = sum / Double(size)
                        var squares = 0.0
                        for i in 0..<size { let d = Double(v[i]) - mean; squares += d * d }
                        let inverse = 1 / (squares / Double(size) + Double(norm.epsilon)).squareRoot()
                        for i in 0..<size {
                            v[i] = Float((Double(v[i]) - mean) * inverse) * gamma[i] + beta[i]
                        }
                    }
                }
            }
        }
    }

    /// GroupNorm with one group per channel on time-major x[frames, channels]: each channel is
    /// normalised over time, in place.
    public static func channelNormOverTime(_ x: inout [Float], frames: Int, _ norm: NormWeights) {
        let channels = norm.size
        precondition(x.count == frames * channels, "group norm input has \(x.count) values, expected \(frames) x \(channels)")
        var sums = [Double](repeating: 0, count: channels)
        var squares = [Double](repeating: 0, count: channels)
        var scales = [Float](repeating: 0, count: channels)
        var shifts = [Float](repeating: 0, count: channels)
        x.withUnsafeMutableBufferPointer { xp in
            sums.withUnsafeMutableBufferPointer { sum in
                squares.withUnsafeMutableBufferPointer { square in
                    for t in 0..<frames {
                        let row = xp.baseAddress! + t * channels
                        for c in 0..<channels { sum[c] += Double(row[c]) }
                    }
                    for c in 0..<channels { sum[c] /= Double(frames) }  // means
                    for t in 0..<frames {
                        let row = xp.baseAddress! + t * channels
                        for c in 0..<channels { let d = Double(row[c]) - sum[c]; square[c] += d * d }
                    }
                    norm.weight.withUnsafeBufferPointer { gamma in
                        norm.bias.withUnsafeBufferPointer { beta in
                            for c in 0..<channels {
                                scales[c] = Float(1 / (square[c] / Double(frames) + Double(norm.epsilon)).squareRoot()) * gamma[c]
                                shifts[c] = beta[c] - Float(sum[c]) * scales[c]
                            }
                        }
                    }
                }
            }
            scales.withUnsafeBufferPointer { scale in
                shifts.withUnsafeBufferPointer { shift in
                    for t in 0..<frames {
                        let row = xp.baseAddress! + t * channels
                        for c in 0..<channels { row[c] = row[c] * scale[c] + shift[c] }
                    }
                }
            }
        }
    }
}

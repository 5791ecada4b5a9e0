import Foundation
import UniSpeechKernels

/// WavLM's relative position bias (WavLMAttention with `has_relative_position_bias`, layer 0 only): the table
/// `rel_attn_embed` [num_buckets, heads] looked up by a bucket of key - query, half the buckets for each direction,
/// exact up to a quarter of them and log-spaced up to `max_bucket_distance`. The bias depends only on the padded
/// length, so it is built once per forward and every layer gates the same ungated bias.
struct RelativePositionEmbedding {
    /// [numBuckets, heads].
    let table: FloatStorage
    let numBuckets: Int
    let maxDistance: Int
    let heads: Int

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        numBuckets = config.numBuckets
        maxDistance = config.maxBucketDistance
        heads = config.numAttentionHeads
        table = try weights.floats("encoder.layers.0.attention.rel_attn_embed.weight", shape: [numBuckets, heads])
    }

    /// The bucket of `relative` = key - query (transformers' `_relative_positions_bucket`, its log in f32).
    static func bucket(_ relative: Int, numBuckets: Int, maxDistance: Int) -> Int {
        let half = numBuckets / 2, exact = half / 2, distance = abs(relative)
        let direction = relative > 0 ? half : 0
        guard distance >= exact else { return direction + distance }
        let scaled = Foundation.log(Float(distance) / Float(exact)) / Float(Foundation.log(Double(maxDistance) / Double(exact)))
            * Float(half - exact)
        // Truncated toward zero, then clamped to half - 1 (in f32 first, so that the conversion cannot overflow).
        return direction + min(Int(min(Float(exact) + scaled, Float(half))), half - 1)
    }

    /// For each head, the ungated bias of every key - query from -(frames - 1) to frames - 1 (the diagonals of the
    /// [frames, frames] bias, `KernelContext.addRowScaledToeplitz`'s layout).
    func diagonals(frames: Int) -> [[Float]] {
        let buckets = (-(frames - 1)..<frames).map { Self.bucket($0, numBuckets: numBuckets, maxDistance: maxDistance) }
        let values = table.array
        return (0..<heads).map { head in buckets.map { values[$0 * heads + head] } }
    }
}

/// One WavLM layer's gate on the relative position bias, computed per head and frame from the attention input:
/// gate = a * (b * gru_rel_pos_const - 1) + 2 with (a, b) = sigmoid of the two sums of four `gru_rel_pos_linear`
/// outputs.
struct RelativePositionGate {
    /// [8, headDim]: four outputs summed into a, four into b.
    let projection: LinearWeights
    /// [heads].
    let constant: [Float]
    let heads: Int

    static let projectionWidth = 8

    init(config: UniSpeechConfig, prefix: String, weights: WeightLoader) throws {
        heads = config.numAttentionHeads
        projection = try weights.linear(prefix + ".gru_rel_pos_linear", out: Self.projectionWidth,
                                        in: config.hiddenSize / config.numAttentionHeads)
        constant = try weights.floats(prefix + ".gru_rel_pos_const", shape: [1, heads, 1, 1]).array
    }

    /// The gate of every query frame for each (item, head), indexed item * heads + head, of the attention input
    /// x[B * T, H].
    func callAsFunction(_ x: Matrix, batch: Int, context: KernelContext) throws -> [[Float]] {
        let frames = x.rows / batch, headDim = x.columns / heads
        let perHead = x.reshaped(rows: x.rows * heads, columns: headDim)  // [B * T * heads, d]
        let projected = try context.linear(perHead.array(), rows: perHead.rows, projection)  // [B * T * heads, 8]
        var gates = [[Float]](repeating: [Float](repeating: 0, count: frames), count: batch * heads)
        let half = Self.projectionWidth / 2
        for b in 0..<batch {
            for t in 0..<frames {
                for h in 0..<heads {
                    let row = ((b * frames + t) * heads + h) * Self.projectionWidth
                    let a = sigmoid(projected[row..<(row + half)].reduce(0, +))
                    let g = sigmoid(projected[(row + half)..<(row + 2 * half)].reduce(0, +))
                    gates[b * heads + h][t] = a * (g * constant[h] - 1) + 2
                }
            }
        }
        return gates
    }

    private func sigmoid(_ value: Float) -> Float { 1 / (1 + Foundation.exp(-value)) }
}

/// Multi-head self-attention with padded keys masked (UniSpeechAttention).
struct SelfAttention {
    let query: LinearWeights
    let key: LinearWeights
    let value: LinearWeights
    let output: LinearWeights
    let heads: Int

    init(config: UniSpeechConfig, prefix: String, weights: WeightLoader) throws {
        let hidden = config.hiddenSize
        query = try weights.linear(prefix + ".q_proj", out: hidden, in: hidden)
        key = try weights.linear(prefix + ".k_proj", out: hidden, in: hidden)
        value = try weights.linear(prefix + ".v_proj", out: hidden, in: hidden)
        output = try weights.linear(prefix + ".out_proj", out: hidden, in: hidden)
        heads = config.numAttentionHeads
    }

    /// out[B * T, H] of x[B * T, H]; keys at frames >= keyLengths[b] are ignored.
    func callAsFunction(_ x: [Float], batch: Int, frames: Int, keyLengths: [Int]) -> [Float] {
        let rows = batch * frames
        let context = Kernels.attention(
            q: Kernels.linear(x, rows: rows, query), k: Kernels.linear(x, rows: rows, key),
            v: Kernels.linear(x, rows: rows, value),
            batch: batch, frames: frames, heads: heads, keyLengths: keyLengths)  // [B * T, H]
        return Kernels.linear(context, rows: rows, output)  // [B * T, H]
    }
}

/// Linear -> activation -> Linear (UniSpeechFeedForward).
struct FeedForward {
    let intermediate: LinearWeights
    let output: LinearWeights
    let activation: Activation

    init(config: UniSpeechConfig, prefix: String, weights: WeightLoader) throws {
        intermediate = try weights.linear(prefix + ".intermediate_dense", out: config.intermediateSize, in: config.hiddenSize)
        output = try weights.linear(prefix + ".output_dense", out: config.hiddenSize, in: config.intermediateSize)
        activation = config.hiddenActivation
    }

    /// out[rows, H] of x[rows, H].
    func callAsFunction(_ x: [Float], rows: Int) -> [Float] {
        var inner = Kernels.linear(x, rows: rows, intermediate)  // [rows, I]
        activation.apply(&inner)
        return Kernels.linear(inner, rows: rows, output)  // [rows, H]
    }
}

/// One transformer layer; post-LN (UniSpeechEncoderLayer) or pre-LN (UniSpeechEncoderLayerStableLayerNorm).
struct EncoderLayer {
    let attention: SelfAttention
    let attentionNorm: NormWeights
    let feedForward: FeedForward
    let finalNorm: NormWeights
    let preNorm: Bool

    init(config: UniSpeechConfig, index: Int, weights: WeightLoader) throws {
        let prefix = "encoder.layers.\(index)"
        attention = try SelfAttention(config: config, prefix: prefix + ".attention", weights: weights)
        attentionNorm = try weights.norm(prefix + ".layer_norm", size: config.hiddenSize, epsilon: config.layerNormEps)
        feedForward = try FeedForward(config: config, prefix: prefix + ".feed_forward", weights: weights)
        finalNorm = try weights.norm(prefix + ".final_layer_norm", size: config.hiddenSize, epsilon: config.layerNormEps)
        preNorm = config.doStableLayerNorm
    }

    /// out[B * T, H] of x[B * T, H].
    func callAsFunction(_ x: [Float], batch: Int, frames: Int, keyLengths: [Int]) -> [Float] {
        let rows = batch * frames
        if preNorm {
            var normed = x
            Kernels.layerNorm(&normed, rows: rows, attentionNorm)
            var h = add(x, attention(normed, batch: batch, frames: frames, keyLengths: keyLengths))  // [B * T, H]
            normed = h
            Kernels.layerNorm(&normed, rows: rows, finalNorm)
            h = add(h, feedForward(normed, rows: rows))
            return h
        }
        var h = add(x, attention(x, batch: batch, frames: frames, keyLengths: keyLengths))  // [B * T, H]
        Kernels.layerNorm(&h, rows: rows, attentionNorm)
        h = add(h, feedForward(h, rows: rows))
        Kernels.layerNorm(&h, rows: rows, finalNorm)
        return h
    }
}

/// Positional conv, layer norm placement and the layer stack (UniSpeechEncoder / UniSpeechEncoderStableLayerNorm).
struct Encoder {
    let positionalEmbedding: PositionalConvEmbedding
    let norm: NormWeights
    let layers: [EncoderLayer]
    let stableLayerNorm: Bool

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        positionalEmbedding = try PositionalConvEmbedding(config: config, weights: weights)
        norm = try weights.norm("encoder.layer_norm", size: config.hiddenSize, epsilon: config.layerNormEps)
        layers = try (0..<config.numHiddenLayers).map { try EncoderLayer(config: config, index: $0, weights: weights) }
        stableLayerNorm = config.doStableLayerNorm
    }

    /// The last hidden state [B * T, H] of projected features x[B * T, H], and the hidden states transformers
    /// records (the first layer's input, then each layer's output) when `recordHiddenStates`.
    /// `frameLengths` masks padded frames (zeroed before the positional conv, ignored as keys) when given.
    func callAsFunction(_ x: [Float], batch: Int, frames: Int, frameLengths: [Int]?,
                        recordHiddenStates: Bool) -> (last: [Float], hiddenStates: [[Float]]) {
        let width = x.count / max(batch * frames, 1)
        let rows = batch * frames
        var h = x
        if let frameLengths {
            for b in 0..<batch where frameLengths[b] < frames {
                let start = (b * frames + frameLengths[b]) * width
                h.replaceSubrange(start..<((b + 1) * frames * width), with: repeatElement(0, count: (frames - frameLengths[b]) * width))
            }
        }
        for b in 0..<batch {
            let range = (b * frames * width)..<((b + 1) * frames * width)
            let position = positionalEmbedding(Array(h[range]), frames: frames)  // [T, H]
            h.withUnsafeMutableBufferPointer { hp in
                position.withUnsafeBufferPointer { pp in
                    for i in 0..<pp.count { hp[range.lowerBound + i] += pp[i] }
                }
            }
        }
        if !stableLayerNorm { Kernels.layerNorm(&h, rows: rows, norm) }
        let keyLengths = frameLengths ?? Array(repeating: frames, count: batch)
        var recorded: [[Float]] = recordHiddenStates ? [h] : []
        for layer in layers {
            h = layer(h, batch: batch, frames: frames, keyLengths: keyLengths)
            if recordHiddenStates { recorded.append(h) }
        }
        if stableLayerNorm { Kernels.layerNorm(&h, rows: rows, norm) }
        return (h, recorded)
    }
}

/// Element-wise a + b.
func add(_ a: [Float], _ b: [Float]) -> [Float] {
    precondition(a.count == b.count, "added tensors differ in size")
    var sum = a
    sum.withUnsafeMutableBufferPointer { s in
        b.withUnsafeBufferPointer { bp in for i in 0..<s.count { s[i] += bp[i] } }
    }
    return sum
}

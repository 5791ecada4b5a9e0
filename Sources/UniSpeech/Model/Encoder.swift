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

    /// out[B * T, H] of x[B * T, H] into `out`; keys at frames >= keyLengths[b] are ignored.
    func callAsFunction(_ x: UnsafePointer<Float>, batch: Int, frames: Int, keyLengths: [Int],
                        into out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let rows = batch * frames, width = query.outFeatures
        let q = workspace.buffer(.query, count: rows * width), k = workspace.buffer(.key, count: rows * width)
        let v = workspace.buffer(.value, count: rows * width), context = workspace.buffer(.context, count: rows * width)
        Kernels.linear(x, rows: rows, query, into: q, workspace: workspace)  // [B * T, H]
        Kernels.linear(x, rows: rows, key, into: k, workspace: workspace)
        Kernels.linear(x, rows: rows, value, into: v, workspace: workspace)
        Kernels.attention(q: q, k: k, v: v, batch: batch, frames: frames, width: width, heads: heads,
                          keyLengths: keyLengths, into: context, workspace: workspace)  // [B * T, H]
        Kernels.linear(context, rows: rows, output, into: out, workspace: workspace)  // [B * T, H]
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

    /// out[rows, H] of x[rows, H] into `out`.
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let inner = workspace.buffer(.inner, count: rows * intermediate.outFeatures)
        Kernels.linear(x, rows: rows, intermediate, into: inner, workspace: workspace)  // [rows, I]
        activation.apply(inner, count: rows * intermediate.outFeatures)
        Kernels.linear(inner, rows: rows, output, into: out, workspace: workspace)  // [rows, H]
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

    /// Updates the hidden state h[B * T, H] in place.
    func callAsFunction(_ h: UnsafeMutablePointer<Float>, batch: Int, frames: Int, keyLengths: [Int], workspace: Workspace) {
        let rows = batch * frames, width = attentionNorm.size, count = rows * width
        let delta = workspace.buffer(.sublayerOutput, count: count)  // [B * T, H]
        if preNorm {
            let normed = workspace.buffer(.normed, count: count)
            Kernels.layerNorm(h, rows: rows, attentionNorm, into: normed)
            attention(normed, batch: batch, frames: frames, keyLengths: keyLengths, into: delta, workspace: workspace)
            Kernels.add(delta, into: h, count: count)
            Kernels.layerNorm(h, rows: rows, finalNorm, into: normed)
            feedForward(normed, rows: rows, into: delta, workspace: workspace)
            Kernels.add(delta, into: h, count: count)
            return
        }
        attention(h, batch: batch, frames: frames, keyLengths: keyLengths, into: delta, workspace: workspace)
        Kernels.add(delta, into: h, count: count)
        Kernels.layerNorm(h, rows: rows, attentionNorm, into: h)
        feedForward(h, rows: rows, into: delta, workspace: workspace)
        Kernels.add(delta, into: h, count: count)
        Kernels.layerNorm(h, rows: rows, finalNorm, into: h)
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
    func callAsFunction(_ x: UnsafePointer<Float>, batch: Int, frames: Int, frameLengths: [Int]?,
                        recordHiddenStates: Bool, workspace: Workspace) -> (last: [Float], hiddenStates: [[Float]]) {
        let width = norm.size, rows = batch * frames, count = rows * width
        let h = workspace.buffer(.hidden, count: count)  // [B * T, H]
        h.update(from: x, count: count)
        if let frameLengths {
            for b in 0..<batch where frameLengths[b] < frames {
                (h + (b * frames + frameLengths[b]) * width).update(repeating: 0, count: (frames - frameLengths[b]) * width)
            }
        }
        let position = workspace.buffer(.position, count: (frames + 1) * width)  // [T (+1), H]
        for b in 0..<batch {
            let item = h + b * frames * width
            positionalEmbedding(item, frames: frames, into: position, workspace: workspace)  // [T, H]
            Kernels.add(position, into: item, count: frames * width)
        }
        if !stableLayerNorm { Kernels.layerNorm(h, rows: rows, norm, into: h) }
        let keyLengths = frameLengths ?? Array(repeating: frames, count: batch)
        let snapshot = { Array(UnsafeBufferPointer(start: h, count: count)) }
        var recorded: [[Float]] = recordHiddenStates ? [snapshot()] : []
        for layer in layers {
            layer(h, batch: batch, frames: frames, keyLengths: keyLengths, workspace: workspace)
            if recordHiddenStates { recorded.append(snapshot()) }
        }
        if stableLayerNorm { Kernels.layerNorm(h, rows: rows, norm, into: h) }
        return (snapshot(), recorded)
    }
}

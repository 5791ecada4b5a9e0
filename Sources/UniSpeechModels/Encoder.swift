import UniSpeechKernels

/// Multi-head self-attention with padded keys masked (UniSpeechAttention), and WavLM's form: the same product plus
/// a gated relative position bias, softmax(q kᵀ / sqrt(d) + gate * bias) v.
struct SelfAttention {
    let query: LinearWeights
    let key: LinearWeights
    let value: LinearWeights
    let output: LinearWeights
    let heads: Int
    /// WavLM: this layer's gate on the relative position bias.
    let gate: RelativePositionGate?

    static let slots = (query: WorkspaceSlot("attention.query"), key: WorkspaceSlot("attention.key"),
                        value: WorkspaceSlot("attention.value"), context: WorkspaceSlot("attention.context"))

    init(config: UniSpeechConfig, prefix: String, weights: WeightLoader) throws {
        let hidden = config.hiddenSize
        query = try weights.linear(prefix + ".q_proj", out: hidden, in: hidden)
        key = try weights.linear(prefix + ".k_proj", out: hidden, in: hidden)
        value = try weights.linear(prefix + ".v_proj", out: hidden, in: hidden)
        output = try weights.linear(prefix + ".out_proj", out: hidden, in: hidden)
        heads = config.numAttentionHeads
        gate = config.family == .wavlm ? try RelativePositionGate(config: config, prefix: prefix, weights: weights) : nil
    }

    /// out[B * T, H] (+)= attention of x[B * T, H] (added to out's values when `accumulate`: the residual); keys at
    /// frames >= keyLengths[b] are ignored. `positionBias` (WavLM) holds each head's ungated bias diagonals
    /// (`RelativePositionEmbedding.diagonals`). out may be x itself: x is read before out is written.
    func callAsFunction(_ x: Matrix, batch: Int, keyLengths: [Int], positionBias: [[Float]]?, into out: MutableMatrix,
                        accumulate: Bool, context: KernelContext) throws {
        let rows = x.rows, width = query.outFeatures
        let q = context.buffer(Self.slots.query, rows: rows, columns: width)
        let k = context.buffer(Self.slots.key, rows: rows, columns: width)
        let v = context.buffer(Self.slots.value, rows: rows, columns: width)
        let attended = context.buffer(Self.slots.context, rows: rows, columns: width)
        try context.linear(x, query, into: q)  // [B * T, H]
        try context.linear(x, key, into: k)
        try context.linear(x, value, into: v)
        var scoreBias: ((Int, Int, MutableMatrix) -> Void)?
        if let gate, let positionBias {
            let gates = try gate(x, batch: batch, context: context)  // [B * heads][T]
            let heads = heads
            scoreBias = { item, head, scores in  // scores[T, keys] += gate[t] * bias[head, t, key]
                context.addRowScaledToeplitz(positionBias[head], rowScales: gates[item * heads + head], into: scores)
            }
        }
        try context.attention(q: q.readOnly, k: k.readOnly, v: v.readOnly, batch: batch, heads: heads, keyLengths: keyLengths,
                              scoreBias: scoreBias, into: attended)  // [B * T, H]
        try context.linear(attended.readOnly, output, into: out, accumulate: accumulate)  // [B * T, H]
    }
}

/// Linear -> activation -> Linear (UniSpeechFeedForward).
struct FeedForward {
    let intermediate: LinearWeights
    let output: LinearWeights
    let activation: Activation

    static let inner = WorkspaceSlot("feed-forward.inner")

    init(config: UniSpeechConfig, prefix: String, weights: WeightLoader) throws {
        intermediate = try weights.linear(prefix + ".intermediate_dense", out: config.intermediateSize, in: config.hiddenSize)
        output = try weights.linear(prefix + ".output_dense", out: config.hiddenSize, in: config.intermediateSize)
        activation = config.hiddenActivation
    }

    /// out[rows, H] (+)= feed-forward of x[rows, H] (added to out's values when `accumulate`: the residual); out may
    /// be x itself.
    func callAsFunction(_ x: Matrix, into out: MutableMatrix, accumulate: Bool, context: KernelContext) throws {
        let inner = context.buffer(Self.inner, rows: x.rows, columns: intermediate.outFeatures)
        try context.linear(x, intermediate, into: inner, activation: activation)  // [rows, I]
        try context.linear(inner.readOnly, output, into: out, accumulate: accumulate)  // [rows, H]
    }
}

/// One transformer layer; post-LN (UniSpeechEncoderLayer) or pre-LN (UniSpeechEncoderLayerStableLayerNorm, with
/// an MMS attention adapter at its end when the config asks for one).
struct EncoderLayer {
    /// transformers' module path, e.g. `encoder.layers.0`.
    let path: String
    let attention: SelfAttention
    let attentionNorm: NormWeights
    let feedForward: FeedForward
    let finalNorm: NormWeights
    let preNorm: Bool
    let adapter: AttentionAdapter?

    static let normed = WorkspaceSlot("encoder-layer.normed")

    init(config: UniSpeechConfig, index: Int, weights: WeightLoader) throws {
        let prefix = "encoder.layers.\(index)"
        path = prefix
        attention = try SelfAttention(config: config, prefix: prefix + ".attention", weights: weights)
        attentionNorm = try weights.norm(prefix + ".layer_norm", size: config.hiddenSize, epsilon: config.layerNormEps)
        feedForward = try FeedForward(config: config, prefix: prefix + ".feed_forward", weights: weights)
        finalNorm = try weights.norm(prefix + ".final_layer_norm", size: config.hiddenSize, epsilon: config.layerNormEps)
        preNorm = config.doStableLayerNorm
        if config.hasAttentionAdapters, let dimension = config.adapterAttnDim {
            adapter = try AttentionAdapter(config: config, prefix: prefix + ".adapter_layer", dimension: dimension, weights: weights)
        } else {
            adapter = nil
        }
    }

    /// Updates the hidden state h[B * T, H] in place; each block's output is added to h inside its last product.
    func callAsFunction(_ h: MutableMatrix, batch: Int, keyLengths: [Int], positionBias: [[Float]]?, context: KernelContext) throws {
        if preNorm {
            let normed = context.buffer(Self.normed, rows: h.rows, columns: h.columns)  // [B * T, H]
            context.layerNorm(h.readOnly, attentionNorm, into: normed)
            try attention(normed.readOnly, batch: batch, keyLengths: keyLengths, positionBias: positionBias, into: h,
                          accumulate: true, context: context)  // h += attention(LN(h))
            context.layerNorm(h.readOnly, finalNorm, into: normed)
            try feedForward(normed.readOnly, into: h, accumulate: true, context: context)  // h += FFN(LN(h))
            try adapter?.addOutput(to: h, context: context)
            return
        }
        try attention(h.readOnly, batch: batch, keyLengths: keyLengths, positionBias: positionBias, into: h, accumulate: true,
                      context: context)  // h += attention(h)
        context.layerNorm(h, attentionNorm)
        try feedForward(h.readOnly, into: h, accumulate: true, context: context)  // h += FFN(h)
        context.layerNorm(h, finalNorm)
    }
}

/// Positional embedding, layer norm and the transformer layers (UniSpeechEncoder / UniSpeechEncoderStableLayerNorm
/// and their family counterparts; WavLM's also builds the relative position bias its layers gate).
struct Encoder {
    let positionalEmbedding: PositionalConvEmbedding
    let norm: NormWeights
    let layers: [EncoderLayer]
    let stableLayerNorm: Bool
    let relativePosition: RelativePositionEmbedding?

    static let hidden = WorkspaceSlot("encoder.hidden")
    /// transformers' module path of the encoder's LayerNorm.
    static let normPath = "encoder.layer_norm"

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        positionalEmbedding = try PositionalConvEmbedding(config: config, weights: weights)
        norm = try weights.norm(Self.normPath, size: config.hiddenSize, epsilon: config.layerNormEps)
        relativePosition = config.family == .wavlm ? try RelativePositionEmbedding(config: config, weights: weights) : nil
        var layers: [EncoderLayer] = []
        for index in 0..<config.numHiddenLayers { layers.append(try EncoderLayer(config: config, index: index, weights: weights)) }
        self.layers = layers
        stableLayerNorm = config.doStableLayerNorm
    }

    /// The last hidden state of projected features x[B * T, H], left in the context's workspace (valid until the
    /// next forward), and the hidden states transformers records (the first layer's input, then each layer's
    /// output) when `recordHiddenStates`. `frameLengths` masks padded frames (zeroed before the positional
    /// embedding, ignored as keys) when given. Each stage's output goes to `tap` before it is used or recorded.
    func callAsFunction(_ x: Matrix, batch: Int, frameLengths: [Int]?, recordHiddenStates: Bool,
                        context: KernelContext, tap: StageTap? = nil) throws -> (last: MutableMatrix, hiddenStates: [[Float]]) {
        let frames = x.rows / batch
        let h = context.buffer(Self.hidden, rows: x.rows, columns: x.columns)  // [B * T, H]
        h.copy(from: x)
        for b in 0..<batch {
            let item = h.rows((b * frames)..<((b + 1) * frames))  // [T, H]
            if let frameLengths, frameLengths[b] < frames { item.rows(frameLengths[b]..<frames).fill(0) }
            try positionalEmbedding.addEmbeddings(to: item, context: context, observe: tap.map { tap in
                { try tap(PositionalConvEmbedding.path, $0, items: b..<(b + 1)) }
            })
        }
        if !stableLayerNorm {
            context.layerNorm(h, norm)
            try tap?(Self.normPath, h)
        }
        let keyLengths = frameLengths ?? Array(repeating: frames, count: batch)
        let positionBias = relativePosition?.diagonals(frames: frames)  // [heads][2T - 1]
        var recorded: [[Float]] = recordHiddenStates ? [h.array()] : []
        for layer in layers {
            try layer(h, batch: batch, keyLengths: keyLengths, positionBias: positionBias, context: context)
            try tap?(layer.path, h)
            if recordHiddenStates { recorded.append(h.array()) }
        }
        if stableLayerNorm {
            context.layerNorm(h, norm)
            try tap?(Self.normPath, h)
        }
        return (h, recorded)
    }
}

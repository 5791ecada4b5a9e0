import UniSpeechKernels

/// Grouped conv over time with weight norm, giving relative position information
/// (UniSpeechPositionalConvEmbedding): conv(padding K/2) -> drop the last frame if K is even -> activation.
struct PositionalConvEmbedding {
    let conv: ConvWeights
    let activation: Activation

    static let output = WorkspaceSlot("positional-conv.output")

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        let hidden = config.hiddenSize, kernel = config.numConvPosEmbeddings, groups = config.numConvPosEmbeddingGroups
        let prefix = "encoder.pos_conv_embed.conv"
        let magnitude = try weights.floats(prefix + ".weight_g", shape: [1, 1, kernel]).array
        let direction = try weights.floats(prefix + ".weight_v", shape: [hidden, hidden / groups, kernel])
        conv = ConvWeights(
            torchWeight: direction, bias: try weights.floats(prefix + ".bias", shape: [hidden]),
            inChannels: hidden, outChannels: hidden, geometry: ConvGeometry(kernel: kernel, padding: kernel / 2), groups: groups,
            tapScales: ConvWeights.weightNormScales(magnitude: magnitude, direction: direction, kernel: kernel))
        activation = config.featureActivation
    }

    /// Adds the position embeddings of hidden[frames, H] (one batch item) to it.
    func addEmbeddings(to hidden: MutableMatrix, context: KernelContext) throws {
        let frames = hidden.rows
        let out = context.buffer(Self.output, rows: conv.outputLength(frames), columns: conv.outChannels)  // [T (+1), H]
        _ = try context.conv1d(hidden.readOnly, conv, into: out)
        let embeddings = out.rows(0..<frames)  // the extra last frame of an even kernel is dropped
        context.apply(activation, to: embeddings)
        context.add(embeddings.readOnly, into: hidden)
    }
}

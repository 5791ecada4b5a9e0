import UniSpeechKernels

/// Grouped convs over time giving relative position information, added to the hidden states. Three forms:
/// - weight-normed (UniSpeechPositionalConvEmbedding, every family but Data2VecAudio): conv(padding K/2) -> drop the
///   last frame if K is even -> activation;
/// - HuBERT with `conv_pos_batch_norm`: BatchNorm (running statistics) -> a plain conv -> the same;
/// - Data2VecAudio: a stack of `num_conv_pos_embeddings` layers conv(kernel `conv_pos_kernel_size`) -> drop the
///   last frame if even -> LayerNorm without parameters -> activation, each reading the last's output.
struct PositionalConvEmbedding {
    enum Form {
        case weightNormed(ConvWeights)
        /// The batch norm as per-channel scales and shifts, then the conv.
        case batchNormed(scales: [Float], shifts: [Float], conv: ConvWeights)
        /// The convs and their parameterless LayerNorm.
        case stacked([ConvWeights], NormWeights)
    }

    let form: Form
    let activation: Activation

    static let slots = (output: WorkspaceSlot("positional-conv.output"), input: WorkspaceSlot("positional-conv.input"))
    /// transformers' module path.
    static let path = "encoder.pos_conv_embed"

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        let hidden = config.hiddenSize, groups = config.numConvPosEmbeddingGroups
        activation = config.featureActivation
        switch (config.family, config.convPosBatchNorm) {
        case (.data2vecAudio, _):
            let kernel = config.convPosKernelSize
            form = .stacked(try (0..<config.numConvPosEmbeddings).map { index in
                try weights.conv(Self.path + ".layers.\(index).conv", inChannels: hidden, outChannels: hidden,
                                 geometry: ConvGeometry(kernel: kernel, padding: kernel / 2), groups: groups, bias: true)
            }, NormWeights(size: hidden, epsilon: Float(UniSpeechConfig.torchNormEpsilon)))
        case (.hubert, true):
            let kernel = config.numConvPosEmbeddings, prefix = Self.path + ".batch_norm"
            let gamma = try weights.floats(prefix + ".weight", shape: [hidden]).array
            let beta = try weights.floats(prefix + ".bias", shape: [hidden]).array
            let mean = try weights.floats(prefix + ".running_mean", shape: [hidden]).array
            let variance = try weights.floats(prefix + ".running_var", shape: [hidden]).array
            // eval: (x - mean) / sqrt(var + eps) * gamma + beta = x * scale + shift
            let scales = (0..<hidden).map { gamma[$0] / (variance[$0] + Float(UniSpeechConfig.torchNormEpsilon)).squareRoot() }
            form = .batchNormed(scales: scales, shifts: (0..<hidden).map { beta[$0] - mean[$0] * scales[$0] },
                                conv: try weights.conv(Self.path + ".conv", inChannels: hidden, outChannels: hidden,
                                                       geometry: ConvGeometry(kernel: kernel, padding: kernel / 2), groups: groups,
                                                       bias: true))
        default:
            let kernel = config.numConvPosEmbeddings, prefix = Self.path + ".conv"
            let magnitude = try weights.floats(prefix + ".weight_g", shape: [1, 1, kernel]).array
            let direction = try weights.floats(prefix + ".weight_v", shape: [hidden, hidden / groups, kernel])
            form = .weightNormed(ConvWeights(
                torchWeight: direction, bias: try weights.floats(prefix + ".bias", shape: [hidden]),
                inChannels: hidden, outChannels: hidden, geometry: ConvGeometry(kernel: kernel, padding: kernel / 2), groups: groups,
                tapScales: ConvWeights.weightNormScales(magnitude: magnitude, direction: direction, kernel: kernel)))
        }
    }

    /// Adds the position embeddings of hidden[frames, H] (one batch item) to it; `observe` sees (and may replace) the
    /// embeddings before they are added.
    func addEmbeddings(to hidden: MutableMatrix, context: KernelContext, observe: ((MutableMatrix) throws -> Void)? = nil) throws {
        let embeddings = try self.embeddings(of: hidden.readOnly, context: context)  // [T, H]
        try observe?(embeddings)
        context.add(embeddings.readOnly, into: hidden)
    }

    /// The position embeddings [frames, H] of hidden[frames, H], in the context's workspace.
    private func embeddings(of hidden: Matrix, context: KernelContext) throws -> MutableMatrix {
        switch form {
        case let .weightNormed(conv):
            return try convolved(hidden, conv, context: context)
        case let .batchNormed(scales, shifts, conv):
            let normed = context.buffer(Self.slots.input, rows: hidden.rows, columns: hidden.columns)  // [T, H]
            normed.copy(from: hidden)
            context.scaleAndShiftChannels(normed, scales: scales, shifts: shifts)
            return try convolved(normed.readOnly, conv, context: context)
        case let .stacked(convs, norm):
            func layer(_ index: Int, _ x: Matrix) throws -> MutableMatrix {
                let y = try convolved(x, convs[index], context: context, slot: index % 2 == 0 ? Self.slots.output : Self.slots.input)
                context.layerNorm(y, norm)
                context.apply(activation, to: y)
                return y  // [T, H]
            }
            var y = try layer(0, hidden)  // `validate` has checked num_conv_pos_embeddings >= 1
            for index in convs.indices.dropFirst() { y = try layer(index, y.readOnly) }
            return y
        }
    }

    /// conv(x)[0 ..< frames] of x[frames, H] (the extra last frame of an even kernel dropped), activated unless the
    /// stacked form puts its norm first.
    private func convolved(_ x: Matrix, _ conv: ConvWeights, context: KernelContext,
                           slot: WorkspaceSlot = slots.output) throws -> MutableMatrix {
        let frames = x.rows
        let out = context.buffer(slot, rows: conv.outputLength(frames), columns: conv.outChannels)  // [T (+1), H]
        _ = try context.conv1d(x, conv, into: out)
        let embeddings = out.rows(0..<frames)
        if case .stacked = form { return embeddings }
        context.apply(activation, to: embeddings)
        return embeddings
    }
}

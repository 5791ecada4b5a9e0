import UniSpeechKernels

/// The conv stack on raw audio (UniSpeechFeatureEncoder): conv -> norm -> activation per layer.
struct FeatureEncoder {
    struct Layer {
        /// transformers' module path, e.g. `feature_extractor.conv_layers.0`.
        let path: String
        let conv: ConvWeights
        /// LayerNorm over channels at each frame (feat_extract_norm "layer").
        let norm: NormWeights?
    }

    /// Each layer's block output goes to one of these in turn.
    static let buffers = [WorkspaceSlot("feature-encoder.a"), WorkspaceSlot("feature-encoder.b")]

    /// Floats in the widest layer's share of one block: the stack runs a block of final frames at a time, from the
    /// samples that block needs (with the overlap of kernels wider than their stride) to its final frames, so every
    /// layer's output lives in a buffer of at most 16 MB. Whole layers would need a base model's first layer alone to
    /// fill 64 MB for 10 s of audio, mostly fresh pages in a one-shot run; much smaller blocks mean many more
    /// short parallel regions, which cost more than they save when the machine is busy.
    static let blockFloats = 1 << 22

    let layers: [Layer]
    /// GroupNorm with one group per channel on the first layer (feat_extract_norm "group"): each channel
    /// normalised over time.
    let firstLayerGroupNorm: NormWeights?
    let activation: Activation

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        var layers: [Layer] = []
        var groupNorm: NormWeights?
        var inChannels = 1
        for (index, outChannels) in config.convDim.enumerated() {
            let prefix = "feature_extractor.conv_layers.\(index)"
            let conv = try weights.conv(prefix + ".conv", inChannels: inChannels, outChannels: outChannels,
                                        geometry: config.convGeometry[index], bias: config.convBias, allowInt8: true)
            var norm: NormWeights?
            switch (config.featExtractNorm, index) {
            case ("layer", _):
                norm = try weights.norm(prefix + ".layer_norm", size: outChannels, epsilon: UniSpeechConfig.torchNormEpsilon)
            case ("group", 0):
                groupNorm = try weights.norm(prefix + ".layer_norm", size: outChannels, epsilon: UniSpeechConfig.torchNormEpsilon)
            default:
                norm = nil
            }
            layers.append(Layer(path: prefix, conv: conv, norm: norm))
            inChannels = outChannels
        }
        self.layers = layers
        firstLayerGroupNorm = groupNorm
        activation = config.featureActivation
    }

    /// Writes features[frames, convDim.last] of one padded waveform[samples, 1] into the first rows of `out` and
    /// returns frames. `blockFrames` final frames are computed at a time (default: as many as `blockFloats` allows).
    /// With `tap`, the stack runs whole layers and reports each one's output as batch item `item` with `realSamples`
    /// unpadded samples.
    func callAsFunction(_ waveform: Matrix, into out: MutableMatrix, blockFrames: Int? = nil, context: KernelContext,
                        tap: StageTap? = nil, item: Int = 0, realSamples: Int = 0) throws -> Int {
        var lengths = [waveform.rows]  // samples, then each layer's output frames
        for layer in layers { lengths.append(layer.conv.outputLength(lengths[lengths.count - 1])) }
        let frames = lengths[lengths.count - 1]
        guard frames > 0 else { return 0 }
        // Layer i's frames per final frame: the product of the strides after it.
        var span = 1, floatsPerFrame = 0
        for layer in layers.reversed() {
            floatsPerFrame = max(floatsPerFrame, span * layer.conv.outChannels)
            span *= layer.conv.geometry.stride
        }
        let block = tap == nil ? max(1, blockFrames ?? Self.blockFloats / floatsPerFrame) : frames
        // Output frames of each layer a block needs, from the last layer back to the samples; under a tap, every
        // frame of every layer, as transformers computes them.
        func needed(_ frames: Range<Int>) -> [Range<Int>] {
            if tap != nil { return lengths.map { 0..<$0 } }
            var needed = [frames]
            for layer in layers.reversed() { needed.insert(layer.conv.geometry.inputRange(of: needed[0]), at: 0) }
            return needed
        }
        // A group norm over time needs the first layer's statistics over every frame before any block goes on; its
        // blocks are as long as the first layer's share of a block below, so that both use one buffer, touched once.
        let overTime = try firstLayerGroupNorm.map {
            try firstLayerNormalization(waveform, $0, blockRows: needed(0..<min(block, frames))[1].count, context: context)
        }
        var realLength = realSamples
        for start in stride(from: 0, to: frames, by: block) {
            let end = min(start + block, frames)
            let needed = needed(start..<end)
            var x = waveform.rows(needed[0])  // [samples, 1]
            for (index, layer) in layers.enumerated() {
                let rows = needed[index + 1].count, channels = layer.conv.outChannels
                let y = index == layers.count - 1
                    ? out.rows(start..<end) : context.buffer(Self.buffers[index % 2], rows: rows, columns: channels)
                _ = try context.conv1d(x, layer.conv, into: y)  // [rows, C]
                if index == 0, let overTime {
                    context.scaleAndShiftChannels(y, scales: overTime.scales, shifts: overTime.shifts, then: activation)
                } else {
                    if let norm = layer.norm { context.layerNorm(y, norm) }
                    context.apply(activation, to: y)
                }
                if let tap {
                    realLength = layer.conv.outputLength(realLength)
                    try tap(layer.path, y, items: item..<(item + 1), realRows: [realLength])
                }
                x = y.readOnly
            }
        }
        return frames
    }

    /// The first layer's group norm as a per-channel scale and shift, from its conv output over every frame, run in
    /// blocks that are not kept: recomputing each block afterwards costs less than storing the whole layer.
    private func firstLayerNormalization(_ waveform: Matrix, _ norm: NormWeights, blockRows: Int,
                                         context: KernelContext) throws -> (scales: [Float], shifts: [Float]) {
        let conv = layers[0].conv, frames = conv.outputLength(waveform.rows)
        var moments = ChannelMoments(channels: conv.outChannels)
        let block = max(1, blockRows)
        for start in stride(from: 0, to: frames, by: block) {
            let end = min(start + block, frames)
            let y = context.buffer(Self.buffers[0], rows: end - start, columns: conv.outChannels)
            _ = try context.conv1d(waveform.rows(conv.geometry.inputRange(of: start..<end)), conv, into: y)
            context.accumulate(y.readOnly, into: &moments)
        }
        return moments.normalization(norm)
    }
}

/// LayerNorm -> Linear from conv features to the hidden size (UniSpeechFeatureProjection; HuBERT's LayerNorm only
/// with `feat_proj_layer_norm`).
struct FeatureProjection {
    let norm: NormWeights?
    let projection: LinearWeights
    /// conv_dim[-1].
    let channels: Int

    /// transformers' module path.
    static let path = "feature_projection"

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        channels = config.convDim[config.convDim.count - 1]
        norm = config.featProjLayerNorm
            ? try weights.norm(Self.path + ".layer_norm", size: channels, epsilon: config.layerNormEps) : nil
        projection = try weights.linear(Self.path + ".projection", out: config.hiddenSize, in: channels)
    }

    /// hidden[rows, H] of features[rows, C] into `hidden`, the layer-normed features (transformers'
    /// `extract_features`; the features themselves without a norm) into `normed`; both reported to `tap`.
    func callAsFunction(_ features: Matrix, into hidden: MutableMatrix, normed: MutableMatrix, context: KernelContext,
                        tap: StageTap? = nil) throws {
        if let norm {
            context.layerNorm(features, norm, into: normed)  // [rows, C]
            try tap?(Self.path + ".layer_norm", normed)
        } else {
            normed.copy(from: features)
        }
        try context.linear(normed.readOnly, projection, into: hidden)  // [rows, H]
        try tap?(Self.path, hidden)
    }
}

import UniSpeechKernels

/// The conv stack on raw audio (UniSpeechFeatureEncoder): conv -> norm -> activation per layer.
struct FeatureEncoder {
    enum Norm {
        case none
        /// GroupNorm with one group per channel: each channel normalised over time.
        case channelOverTime(NormWeights)
        /// LayerNorm over channels at each frame.
        case channels(NormWeights)
    }

    struct Layer {
        /// transformers' module path, e.g. `feature_extractor.conv_layers.0`.
        let path: String
        let conv: ConvWeights
        let norm: Norm
    }

    /// The layers before the last ping-pong between these.
    static let buffers = [WorkspaceSlot("feature-encoder.a"), WorkspaceSlot("feature-encoder.b")]

    let layers: [Layer]
    let activation: Activation

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        var layers: [Layer] = []
        var inChannels = 1
        for (index, outChannels) in config.convDim.enumerated() {
            let prefix = "feature_extractor.conv_layers.\(index)"
            let conv = try weights.conv(prefix + ".conv", inChannels: inChannels, outChannels: outChannels,
                                        geometry: config.convGeometry[index], bias: config.convBias, allowInt8: true)
            let norm: Norm
            switch (config.featExtractNorm, index) {
            case ("layer", _):
                norm = .channels(try weights.norm(prefix + ".layer_norm", size: outChannels, epsilon: UniSpeechConfig.torchNormEpsilon))
            case ("group", 0):
                norm = .channelOverTime(try weights.norm(prefix + ".layer_norm", size: outChannels, epsilon: UniSpeechConfig.torchNormEpsilon))
            default:
                norm = .none
            }
            layers.append(Layer(path: prefix, conv: conv, norm: norm))
            inChannels = outChannels
        }
        self.layers = layers
        activation = config.featureActivation
    }

    /// Writes features[frames, convDim.last] of one padded waveform[samples, 1] into the first rows of `out` and
    /// returns frames; reports each layer's output to `tap` as batch item `item` with `realSamples` unpadded samples.
    func callAsFunction(_ waveform: Matrix, into out: MutableMatrix, context: KernelContext, tap: StageTap? = nil,
                        item: Int = 0, realSamples: Int = 0) throws -> Int {
        var x = waveform  // [length, C]
        var realLength = realSamples
        for (index, layer) in layers.enumerated() {
            let length = layer.conv.outputLength(x.rows), channels = layer.conv.outChannels
            let y = index == layers.count - 1
                ? out.rows(0..<length) : context.buffer(Self.buffers[index % 2], rows: length, columns: channels)
            _ = try context.conv1d(x, layer.conv, into: y)  // [length, C]
            switch layer.norm {
            case .none:
                context.apply(activation, to: y)
            case let .channelOverTime(norm):
                context.channelNormOverTime(y, norm, then: activation)
            case let .channels(norm):
                context.layerNorm(y, norm)
                context.apply(activation, to: y)
            }
            if let tap {
                realLength = layer.conv.outputLength(realLength)
                try tap(layer.path, y, items: item..<(item + 1), realRows: [realLength])
            }
            x = y.readOnly
        }
        return x.rows
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

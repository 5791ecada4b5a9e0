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
        let conv: ConvWeights
        let norm: Norm
    }

    /// torch's default epsilon for the conv layers' GroupNorm / LayerNorm (they ignore `layer_norm_eps`).
    static let normEpsilon = 1e-5

    let layers: [Layer]
    let activation: Activation

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        var layers: [Layer] = []
        var inChannels = 1
        for (index, outChannels) in config.convDim.enumerated() {
            let prefix = "feature_extractor.conv_layers.\(index)"
            let kernel = config.convKernel[index]
            let conv = ConvWeights(
                torchWeight: try weights.floats(prefix + ".conv.weight", shape: [outChannels, inChannels, kernel]),
                bias: config.convBias ? try weights.floats(prefix + ".conv.bias", shape: [outChannels]) : nil,
                inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: config.convStride[index])
            let norm: Norm
            switch (config.featExtractNorm, index) {
            case ("layer", _):
                norm = .channels(try weights.norm(prefix + ".layer_norm", size: outChannels, epsilon: Self.normEpsilon))
            case ("group", 0):
                norm = .channelOverTime(try weights.norm(prefix + ".layer_norm", size: outChannels, epsilon: Self.normEpsilon))
            default:
                norm = .none
            }
            layers.append(Layer(conv: conv, norm: norm))
            inChannels = outChannels
        }
        self.layers = layers
        activation = config.featureActivation
    }

    /// features[frames, convDim.last] of one padded waveform[samples].
    func callAsFunction(_ waveform: [Float]) -> (values: [Float], frames: Int) {
        var x = waveform  // [samples, 1]
        var length = waveform.count
        for layer in layers {
            (x, length) = Kernels.conv1d(x, length: length, layer.conv)  // [length, C]
            switch layer.norm {
            case .none: break
            case let .channelOverTime(norm): Kernels.channelNormOverTime(&x, frames: length, norm)
            case let .channels(norm): Kernels.layerNorm(&x, rows: length, norm)
            }
            activation.apply(&x)
        }
        return (x, length)
    }
}

/// LayerNorm -> Linear from conv features to the hidden size (UniSpeechFeatureProjection).
struct FeatureProjection {
    let norm: NormWeights
    let projection: LinearWeights

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        let channels = config.convDim[config.convDim.count - 1]
        norm = try weights.norm("feature_projection.layer_norm", size: channels, epsilon: config.layerNormEps)
        projection = try weights.linear("feature_projection.projection", out: config.hiddenSize, in: channels)
    }

    /// (hidden[rows, H], normed features[rows, C]) of features[rows, C].
    func callAsFunction(_ features: [Float], rows: Int) -> (hidden: [Float], extractFeatures: [Float]) {
        var normed = features
        Kernels.layerNorm(&normed, rows: rows, norm)  // [rows, C]
        return (Kernels.linear(normed, rows: rows, projection), normed)  // [rows, H]
    }
}

/// The conv stack on raw audio (UniSpeechFeatureEncoder): conv -> norm -> activation per layer.
struct FeatureEncoder {
    enum Norm {
        case none
        /// GroupNorm with one group per channel: each channel normalised over time.
        case channelOverTime(NormWeights)
        /// LayerNorm over channels at each frame.
        case channels(NormWeights)
    }

    /// A conv layer's weights: f32 (sgemm), or int8 when the file stores the weight as i8 + scale.
    enum Conv {
        case float(ConvWeights)
        case int8(QuantizedConvWeights)

        var outChannels: Int {
            switch self {
            case let .float(conv): return conv.outChannels
            case let .int8(conv): return conv.outChannels
            }
        }

        func outputLength(_ length: Int) -> Int {
            switch self {
            case let .float(conv): return conv.outputLength(length)
            case let .int8(conv): return conv.outputLength(length)
            }
        }
    }

    struct Layer {
        let conv: Conv
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
            let kernel = config.convKernel[index], stride = config.convStride[index]
            let weightName = prefix + ".conv.weight", shape = [outChannels, inChannels, kernel]
            let bias = config.convBias ? try weights.floats(prefix + ".conv.bias", shape: [outChannels]) : nil
            let conv: Conv
            if let quantized = try weights.quantized(weightName, shape: shape) {
                conv = .int8(QuantizedConvWeights(torchWeight: quantized.values, scales: quantized.scales, bias: bias,
                                                  inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride))
            } else {
                conv = .float(ConvWeights(torchWeight: try weights.floats(weightName, shape: shape), bias: bias,
                                          inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride))
            }
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

    /// Writes features[frames, convDim.last] of one padded waveform[samples] into `out` and returns frames; the
    /// layers before the last ping-pong between two workspace buffers.
    func callAsFunction(_ waveform: UnsafePointer<Float>, samples: Int, into out: UnsafeMutablePointer<Float>,
                        workspace: Workspace) -> Int {
        var largest = 0, length = samples
        for layer in layers.dropLast() {
            length = layer.conv.outputLength(length)
            largest = max(largest, length * layer.conv.outChannels)
        }
        let buffers = [workspace.buffer(.convA, count: largest), workspace.buffer(.convB, count: largest)]
        var x = waveform  // [length, C]
        length = samples
        for (index, layer) in layers.enumerated() {
            let y = index == layers.count - 1 ? out : buffers[index % 2]
            switch layer.conv {                                                                   // [length, C]
            case let .float(conv): length = Kernels.conv1d(x, length: length, conv, into: y, workspace: workspace)
            case let .int8(conv): length = Kernels.conv1d(x, length: length, conv, into: y)
            }
            let count = length * layer.conv.outChannels
            switch layer.norm {
            case .none:
                activation.apply(y, count: count)
            case let .channelOverTime(norm):
                Kernels.channelNormOverTime(y, frames: length, norm, then: activation)
            case let .channels(norm):
                Kernels.layerNorm(y, rows: length, norm, into: y)
                activation.apply(y, count: count)
            }
            x = UnsafePointer(y)
        }
        return length
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

    /// hidden[rows, H] of features[rows, C] into `hidden`, the layer-normed features into `normed`.
    func callAsFunction(_ features: UnsafePointer<Float>, rows: Int, into hidden: UnsafeMutablePointer<Float>,
                        normed: UnsafeMutablePointer<Float>, workspace: Workspace) {
        Kernels.layerNorm(features, rows: rows, norm, into: normed)  // [rows, C]
        Kernels.linear(normed, rows: rows, projection, into: hidden, workspace: workspace)  // [rows, H]
    }
}

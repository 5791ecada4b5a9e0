import Foundation
import UniSpeechKernels

/// `<Prefix>ForXVector`'s head: projector, TDNN layers (dilated convs stored as Linear weights in window order,
/// each followed by ReLU), statistics pooling (mean and unbiased std over time), then `feature_extractor` to the
/// embedding and `classifier` to `logits` (xvector_output_dim wide: not class scores; `objective` is the loss's).
struct XVectorHead {
    let layerSum: LayerSum?
    let projector: LinearWeights
    let tdnn: [WindowedConv]
    let featureExtractor: LinearWeights
    let classifier: LinearWeights

    static let slots = (projected: WorkspaceSlot("xvector.projected"), layers: [WorkspaceSlot("xvector.a"), WorkspaceSlot("xvector.b")])
    /// transformers' module paths of the layers of its own (the projector and classifier: `HeadModulePath`).
    static let featureExtractorPath = "feature_extractor"
    static func tdnnPath(_ index: Int) -> String { "tdnn.\(index)" }

    /// The head of `config` on last hidden states `statesWidth` wide.
    init(config: UniSpeechConfig, statesWidth: Int, weights: WeightLoader) throws {
        layerSum = try LayerSum(config: config, weights: weights)
        projector = try weights.linear(HeadModulePath.projector, out: config.tdnnDim[0], in: layerSum == nil ? statesWidth : config.hiddenSize)
        var tdnn: [WindowedConv] = []
        var inChannels = config.tdnnDim[0]
        for (index, outChannels) in config.tdnnDim.enumerated() {
            let kernel = config.tdnnKernel[index]
            tdnn.append(WindowedConv(linear: try weights.linear(Self.tdnnPath(index) + ".kernel", out: outChannels, in: kernel * inChannels),
                                     geometry: ConvGeometry(kernel: kernel, dilation: config.tdnnDilation[index])))
            inChannels = outChannels
        }
        self.tdnn = tdnn
        featureExtractor = try weights.linear(Self.featureExtractorPath, out: config.xvectorOutputDim, in: 2 * inChannels)
        classifier = try weights.linear(HeadModulePath.classifier, out: config.xvectorOutputDim, in: config.xvectorOutputDim)
    }

    /// Frames the TDNN layers leave of `frames`.
    func outputLength(_ frames: Int) -> Int { tdnn.reduce(frames) { $1.outputLength($0) } }

    /// transformers' pooling length for an item of `frames` real frames: less (kernel - 1) per TDNN layer, the
    /// dilation ignored (`_get_tdnn_output_lengths`), so it may count frames computed from padding.
    func poolingLength(_ frames: Int) -> Int { tdnn.reduce(frames) { $0 - ($1.geometry.kernel - 1) } }

    /// (embeddings[B, X], logits[B, X]) of the last hidden state [B * T, W] or the weighted sum of the recorded
    /// states; `poolingLengths` (per item, from the attention mask; nil: every frame) bound the frames pooled, read
    /// as a Python slice `[:length]` as transformers does. Each layer's output goes to `tap`, with `realFrames` real
    /// input frames per item.
    func callAsFunction(last: [Float], hiddenStates: [[Float]], batch: Int, frames: Int, poolingLengths: [Int]?,
                        context: KernelContext, tap: StageTap? = nil, realFrames: [Int] = []) throws -> (embeddings: [Float], logits: [Float]) {
        let outFrames = outputLength(frames)
        guard outFrames > 0 else {
            throw ModelError.noFramesLeft(stage: "x-vector head's TDNN layers", frames: frames)
        }
        let input = layerSum?(hiddenStates) ?? last  // [B * T, W]
        let projected = context.buffer(Self.slots.projected, rows: batch * frames, columns: projector.outFeatures)
        try input.withMatrix(rows: batch * frames, columns: projector.inFeatures) { try context.linear($0, projector, into: projected) }
        try tap?(HeadModulePath.projector, projected, realRows: realFrames, ofHead: true)
        var h = projected.readOnly  // [B * T, tdnn_dim[0]]
        var length = frames, realLengths = realFrames
        for (index, layer) in tdnn.enumerated() {
            length = layer.outputLength(length)
            let out = context.buffer(Self.slots.layers[index % 2], rows: batch * length, columns: layer.linear.outFeatures)
            try layer(h, batch: batch, into: out, context: context)  // [B * T', out]
            context.apply(.relu, to: out)
            if let tap {
                realLengths = realLengths.map(layer.outputLength)
                try tap(Self.tdnnPath(index), out, realRows: realLengths, ofHead: true)
            }
            h = out.readOnly
        }
        let statistics = Self.meanAndStandardDeviation(h.array(), batch: batch, frames: outFrames, channels: h.columns,
                                                       counts: poolingLengths.map { $0.map { Self.sliceCount($0, of: outFrames) } })
        var embeddings = try context.linear(statistics, rows: batch, featureExtractor)  // [B, X]
        try tap?(Self.featureExtractorPath, &embeddings, columns: featureExtractor.outFeatures, onePerItem: true)
        var logits = try context.linear(embeddings, rows: batch, classifier)  // [B, X]
        try tap?(HeadModulePath.classifier, &logits, columns: classifier.outFeatures, onePerItem: true)
        return (embeddings, logits)
    }

    /// How many of `frames` rows Python's `[:length]` keeps (a negative length drops rows from the end).
    static func sliceCount(_ length: Int, of frames: Int) -> Int { length >= 0 ? min(length, frames) : max(frames + length, 0) }

    /// [B, 2C]: per item, the mean then the unbiased standard deviation of each channel over its first counts[b]
    /// frames (every frame without counts) of x[B * T, C]; NaN where fewer than two frames are pooled, as in torch.
    static func meanAndStandardDeviation(_ x: [Float], batch: Int, frames: Int, channels: Int, counts: [Int]?) -> [Float] {
        var statistics = [Float](repeating: 0, count: batch * 2 * channels)
        for b in 0..<batch {
            let count = counts?[b] ?? frames
            for c in 0..<channels {
                var sum = 0.0
                for t in 0..<count { sum += Double(x[(b * frames + t) * channels + c]) }
                let mean = sum / Double(count)
                var squares = 0.0
                for t in 0..<count {
                    let deviation = Double(x[(b * frames + t) * channels + c]) - mean
                    squares += deviation * deviation
                }
                statistics[b * 2 * channels + c] = Float(mean)
                statistics[b * 2 * channels + channels + c] = count > 1 ? Float((squares / Double(count - 1)).squareRoot()) : .nan
            }
        }
        return statistics
    }
}

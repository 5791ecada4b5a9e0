import Foundation

/// UniSpeechForCTC's `lm_head`: per-frame vocabulary logits.
struct CTCHead {
    let projection: LinearWeights


    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        projection = try weights.linear("lm_head", out: config.vocabSize, in: config.hiddenSize)
    }

    /// logits[rows, vocab] of hidden[rows, H].
    func callAsFunction(_ hidden: [Float], rows: Int) -> [Float] { Kernels.linear(hidden, rows: rows, projection) }
}

/// UniSpeechForSequenceClassification's head: optional softmax-weighted layer sum, projector, mean pool, classifier.
struct ClassificationHead {
    /// Softmax of `layer_weights` [layers + 1], when use_weighted_layer_sum.
    let layerWeights: [Float]?
    let projector: LinearWeights
    let classifier: LinearWeights

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        if config.useWeightedLayerSum {
            let raw = try weights.floats("layer_weights", shape: [config.numHiddenLayers + 1]).array
            let largest = raw.max() ?? 0
            let exponentials = raw.map { Foundation.exp(Double($0 - largest)) }
            let total = exponentials.reduce(0, +)
            layerWeights = exponentials.map { Float($0 / total) }
        } else {
            layerWeights = nil
        }
        projector = try weights.linear("projector", out: config.classifierProjSize, in: config.hiddenSize)
        classifier = try weights.linear("classifier", out: config.numLabels, in: config.classifierProjSize)
    }

    /// logits[B, labels]. `hiddenStates` are the encoder's recorded states (used with the weighted sum),
    /// `frameLengths` the frames to pool per item (nil: all frames, as transformers without an attention mask).
    func callAsFunction(last: [Float], hiddenStates: [[Float]], batch: Int, frames: Int, frameLengths: [Int]?) -> [Float] {
        var hidden = last
        if let layerWeights {
            hidden = [Float](repeating: 0, count: last.count)
            for (state, weight) in zip(hiddenStates, layerWeights) {
                for i in hidden.indices { hidden[i] += state[i] * weight }
            }
        }
        let projected = Kernels.linear(hidden, rows: batch * frames, projector)  // [B * T, P]
        let width = projector.outFeatures
        var pooled = [Float](repeating: 0, count: batch * width)  // [B, P]
        for b in 0..<batch {
            let count = frameLengths?[b] ?? frames
            for t in 0..<count {
                for c in 0..<width { pooled[b * width + c] += projected[(b * frames + t) * width + c] }
            }
            for c in 0..<width { pooled[b * width + c] /= Float(count) }
        }
        return Kernels.linear(pooled, rows: batch, classifier)  // [B, labels]
    }
}

/// UniSpeechForPreTraining in eval: the Gumbel quantizer's hard argmax codevectors, projected twice, and
/// the perplexity of the codevector choices.
struct PretrainingHead {
    let weightProjection: LinearWeights
    /// [groups * perGroup, codevectorDim / groups].
    let codevectors: FloatStorage
    let groups: Int
    let perGroup: Int
    let projectQ: LinearWeights
    let projectHidden: LinearWeights

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        groups = config.numCodevectorGroups
        perGroup = config.numCodevectorsPerGroup
        let convChannels = config.convDim[config.convDim.count - 1]
        codevectors = try weights.floats("quantizer.codevectors", shape: [1, groups * perGroup, config.codevectorDim / groups])
        weightProjection = try weights.linear("quantizer.weight_proj", out: groups * perGroup, in: convChannels)
        projectQ = try weights.linear("project_q", out: config.projCodevectorDim, in: config.codevectorDim)
        projectHidden = try weights.linear("project_hid", out: config.hiddenSize, in: config.projCodevectorDim)
    }

    /// (projected quantized states[rows, H], codevector perplexity) of extract features[rows, C]; every row counts
    /// in the perplexity, padded or not, as in transformers.
    func callAsFunction(extractFeatures: [Float], rows: Int) -> (quantized: [Float], perplexity: Float) {
        let logits = Kernels.linear(extractFeatures, rows: rows, weightProjection)  // [rows, G * V]
        let part = codevectors.count / (groups * perGroup)
        var quantized = [Float](repeating: 0, count: rows * groups * part)  // [rows, G * D/G]
        var counts = [Int](repeating: 0, count: groups * perGroup)
        for row in 0..<rows {
            for group in 0..<groups {
                let base = row * groups * perGroup + group * perGroup
                var best = 0
                for v in 1..<max(perGroup, 1) where logits[base + v] > logits[base + best] { best = v }
                counts[group * perGroup + best] += 1
                let source = (group * perGroup + best) * part
                for d in 0..<part { quantized[(row * groups + group) * part + d] = codevectors[source + d] }
            }
        }
        var perplexity = 0.0
        for group in 0..<groups {
            var entropy = 0.0
            for v in 0..<perGroup where counts[group * perGroup + v] > 0 {
                let p = Double(counts[group * perGroup + v]) / Double(rows)
                entropy -= p * Foundation.log(p)
            }
            perplexity += Foundation.exp(entropy)
        }
        let projected = Kernels.linear(quantized, rows: rows, projectQ)  // [rows, proj]
        return (Kernels.linear(projected, rows: rows, projectHidden), Float(perplexity))  // [rows, H]
    }
}

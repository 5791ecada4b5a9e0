import Foundation
import UniSpeechCore
import UniSpeechKernels

/// UniSpeechForCTC's `lm_head`: per-frame vocabulary logits.
struct CTCHead {
    let projection: LinearWeights

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        projection = try weights.linear("lm_head", out: config.vocabSize, in: config.hiddenSize)
    }

    /// logits[rows, vocab] of hidden[rows, H].
    func callAsFunction(_ hidden: [Float], rows: Int, context: KernelContext) throws -> [Float] {
        try context.linear(hidden, rows: rows, projection)
    }
}

/// UniSpeechForSequenceClassification's head: optional softmax-weighted layer sum, projector, mean pool, classifier.
struct ClassificationHead {
    /// Softmax of `layer_weights` [layers + 1], when use_weighted_layer_sum.
    let layerWeights: [Float]?
    let projector: LinearWeights
    let classifier: LinearWeights

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        layerWeights = config.useWeightedLayerSum
            ? HeadDecoding.softmax(try weights.floats("layer_weights", shape: [config.numHiddenLayers + 1]).array).map { Float($0) } : nil
        projector = try weights.linear("projector", out: config.classifierProjSize, in: config.hiddenSize)
        classifier = try weights.linear("classifier", out: config.numLabels, in: config.classifierProjSize)
    }

    /// logits[B, labels]. `hiddenStates` are the encoder's recorded states (used with the weighted sum),
    /// `frameLengths` the frames to pool per item (nil: all frames, as transformers without an attention mask).
    func callAsFunction(last: [Float], hiddenStates: [[Float]], batch: Int, frames: Int, frameLengths: [Int]?,
                        context: KernelContext) throws -> [Float] {
        var hidden = last
        if let layerWeights {
            hidden = [Float](repeating: 0, count: last.count)
            for (state, weight) in zip(hiddenStates, layerWeights) {
                for i in hidden.indices { hidden[i] += state[i] * weight }
            }
        }
        let projected = try context.linear(hidden, rows: batch * frames, projector)  // [B * T, P]
        let width = projector.outFeatures
        var pooled = [Float](repeating: 0, count: batch * width)  // [B, P]
        for b in 0..<batch {
            let count = frameLengths?[b] ?? frames
            for t in 0..<count {
                for c in 0..<width { pooled[b * width + c] += projected[(b * frames + t) * width + c] }
            }
            for c in 0..<width { pooled[b * width + c] /= Float(count) }
        }
        return try context.linear(pooled, rows: batch, classifier)  // [B, labels]
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

    /// The chosen codevector of every (row, group) of extract features[rows, C]: the argmax of `weight_proj`'s logits
    /// within the group.
    func codevectorIndices(extractFeatures: [Float], rows: Int, context: KernelContext) throws -> [Int] {
        let logits = try context.linear(extractFeatures, rows: rows, weightProjection)  // [rows, G * V]
        return (0..<(rows * groups)).map { HeadDecoding.argmax(logits, in: ($0 * perGroup)..<(($0 + 1) * perGroup)) }
    }

    /// (projected quantized states[rows, H], codevector perplexity) of extract features[rows, C]; every row counts
    /// in the perplexity, padded or not, as in transformers.
    func callAsFunction(extractFeatures: [Float], rows: Int, context: KernelContext) throws -> (quantized: [Float], perplexity: Float) {
        let chosen = try codevectorIndices(extractFeatures: extractFeatures, rows: rows, context: context)  // [rows * G]
        let part = codevectors.count / (groups * perGroup)
        var quantized = [Float](repeating: 0, count: rows * groups * part)  // [rows, G * D/G]
        var counts = [Int](repeating: 0, count: groups * perGroup)
        for (index, best) in chosen.enumerated() {
            let group = index % groups
            counts[group * perGroup + best] += 1
            let source = (group * perGroup + best) * part
            for d in 0..<part { quantized[index * part + d] = codevectors[source + d] }
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
        let projected = try context.linear(quantized, rows: rows, projectQ)  // [rows, proj]
        return (try context.linear(projected, rows: rows, projectHidden), Float(perplexity))  // [rows, H]
    }
}

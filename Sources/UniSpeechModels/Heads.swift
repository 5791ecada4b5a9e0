import Foundation
import UniSpeechCore
import UniSpeechKernels

/// `<Prefix>ForCTC`'s `lm_head`: per-frame vocabulary logits of the last hidden state (after the conv adapter, if any).
struct CTCHead {
    let projection: LinearWeights

    /// transformers' module path.
    static let path = "lm_head"

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        projection = try weights.linear(Self.path, out: config.vocabSize,
                                        in: config.hasConvAdapter ? config.adapterOutputSize : config.hiddenSize)
    }

    /// logits[rows, vocab] of hidden[rows, W], reported to `tap` with `realRows` real rows per item.
    func callAsFunction(_ hidden: [Float], rows: Int, context: KernelContext, tap: StageTap? = nil, realRows: [Int]) throws -> [Float] {
        var logits = try context.linear(hidden, rows: rows, projection)  // [rows, vocab]
        try tap?(Self.path, &logits, columns: projection.outFeatures, realRows: realRows)
        return logits
    }
}

/// transformers' module paths of the classifier heads' layers, each also the prefix of its weights.
enum HeadModulePath {
    static let projector = "projector"
    static let classifier = "classifier"
}

/// `layer_weights` (use_weighted_layer_sum): the classifier heads read the softmax-weighted sum of the hidden states
/// transformers records instead of the last hidden state.
struct LayerSum {
    /// Softmax of `layer_weights` [layers + 1].
    let weights: [Float]

    /// nil when the config does not ask for the weighted sum.
    init?(config: UniSpeechConfig, weights loader: WeightLoader) throws {
        guard config.useWeightedLayerSum else { return nil }
        weights = HeadDecoding.softmax(try loader.floats("layer_weights", shape: [config.numHiddenLayers + 1]).array).map { Float($0) }
    }

    /// sum_i weights[i] * states[i], each state [B * T, H].
    func callAsFunction(_ states: [[Float]]) -> [Float] {
        var sum = [Float](repeating: 0, count: states.first?.count ?? 0)
        for (state, weight) in zip(states, weights) {
            for i in sum.indices { sum[i] += state[i] * weight }
        }
        return sum
    }
}

/// `<Prefix>ForSequenceClassification`'s head: optional weighted layer sum, projector, mean pool, classifier.
struct ClassificationHead {
    let layerSum: LayerSum?
    let projector: LinearWeights
    let classifier: LinearWeights

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        layerSum = try LayerSum(config: config, weights: weights)
        projector = try weights.linear(HeadModulePath.projector, out: config.classifierProjSize, in: config.hiddenSize)
        classifier = try weights.linear(HeadModulePath.classifier, out: config.numLabels, in: config.classifierProjSize)
    }

    /// logits[B, labels]. `hiddenStates` are the encoder's recorded states (used with the weighted sum),
    /// `frameLengths` the frames to pool per item (nil: all frames, as transformers without an attention mask).
    /// Each layer's output goes to `tap`.
    func callAsFunction(last: [Float], hiddenStates: [[Float]], batch: Int, frames: Int, frameLengths: [Int]?,
                        context: KernelContext, tap: StageTap? = nil) throws -> [Float] {
        let hidden = layerSum?(hiddenStates) ?? last  // [B * T, H]
        var projected = try context.linear(hidden, rows: batch * frames, projector)  // [B * T, P]
        try tap?(HeadModulePath.projector, &projected, columns: projector.outFeatures)
        let width = projector.outFeatures
        var pooled = [Float](repeating: 0, count: batch * width)  // [B, P]
        for b in 0..<batch {
            let count = frameLengths?[b] ?? frames
            for t in 0..<count {
                for c in 0..<width { pooled[b * width + c] += projected[(b * frames + t) * width + c] }
            }
            for c in 0..<width { pooled[b * width + c] /= Float(count) }
        }
        var logits = try context.linear(pooled, rows: batch, classifier)  // [B, labels]
        try tap?(HeadModulePath.classifier, &logits, columns: classifier.outFeatures, onePerItem: true)
        return logits
    }
}

/// `<Prefix>ForAudioFrameClassification`'s head: the classifier on every frame (padded ones too) of the last hidden
/// state or the weighted layer sum.
struct FrameClassificationHead {
    let layerSum: LayerSum?
    let classifier: LinearWeights

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        layerSum = try LayerSum(config: config, weights: weights)
        classifier = try weights.linear(HeadModulePath.classifier, out: config.numLabels, in: config.hiddenSize)
    }

    /// logits[B * T, labels], reported to `tap`.
    func callAsFunction(last: [Float], hiddenStates: [[Float]], rows: Int, context: KernelContext, tap: StageTap? = nil) throws -> [Float] {
        var logits = try context.linear(layerSum?(hiddenStates) ?? last, rows: rows, classifier)  // [B * T, labels]
        try tap?(HeadModulePath.classifier, &logits, columns: classifier.outFeatures)
        return logits
    }
}

/// The pretraining head of Wav2Vec2 and UniSpeech in eval: the Gumbel quantizer's hard argmax codevectors of the
/// extract features, and the perplexity of the choices. Wav2Vec2ForPreTraining projects the last hidden state with
/// `project_hid` [P, H] and the codevectors with `project_q`; UniSpeechForPreTraining returns the last hidden state
/// as is and the codevectors through `project_q` then `project_hid` [H, P] (same name, other role).
struct PretrainingHead {
    let weightProjection: LinearWeights
    /// [groups * perGroup, codevectorDim / groups].
    let codevectors: FloatStorage
    let groups: Int
    let perGroup: Int
    let projectQ: LinearWeights
    let projectHidden: LinearWeights
    /// Wav2Vec2: `project_hid` maps the hidden states; UniSpeech: it follows `project_q`.
    let projectsHiddenStates: Bool

    /// transformers' module paths.
    static let paths = (quantizer: "quantizer", projectQ: "project_q", projectHid: "project_hid")

    /// The head of `config` on last hidden states `statesWidth` wide.
    init(config: UniSpeechConfig, statesWidth: Int, weights: WeightLoader) throws {
        groups = config.numCodevectorGroups
        perGroup = config.numCodevectorsPerGroup
        let convChannels = config.convDim[config.convDim.count - 1]
        codevectors = try weights.floats(Self.paths.quantizer + ".codevectors",
                                         shape: [1, groups * perGroup, config.codevectorDim / groups])
        weightProjection = try weights.linear(Self.paths.quantizer + ".weight_proj", out: groups * perGroup, in: convChannels)
        projectQ = try weights.linear(Self.paths.projectQ, out: config.projCodevectorDim, in: config.codevectorDim)
        projectsHiddenStates = config.family == .wav2vec2
        projectHidden = projectsHiddenStates
            ? try weights.linear(Self.paths.projectHid, out: config.projCodevectorDim, in: statesWidth)
            : try weights.linear(Self.paths.projectHid, out: config.hiddenSize, in: config.projCodevectorDim)
    }

    /// The chosen codevector of every (row, group) of extract features[rows, C]: the argmax of `weight_proj`'s logits
    /// within the group.
    func codevectorIndices(extractFeatures: [Float], rows: Int, context: KernelContext) throws -> [Int] {
        let logits = try context.linear(extractFeatures, rows: rows, weightProjection)  // [rows, G * V]
        return (0..<(rows * groups)).map { HeadDecoding.argmax(logits, in: ($0 * perGroup)..<(($0 + 1) * perGroup)) }
    }

    /// projected_states of the last hidden state [stateRows, W]: project_hid's output (Wav2Vec2, reported to `tap`
    /// with `realRows` real rows per item) or the states.
    func projectedStates(_ states: [Float], rows: Int, context: KernelContext, tap: StageTap? = nil, realRows: [Int]) throws -> [Float] {
        guard projectsHiddenStates else { return states }
        var projected = try context.linear(states, rows: rows, projectHidden)  // [rows, P]
        try tap?(Self.paths.projectHid, &projected, columns: projectHidden.outFeatures, realRows: realRows)
        return projected
    }

    /// (projected quantized states[rows, P or H], codevector perplexity) of extract features[rows, C]; every row
    /// counts in the perplexity, padded or not, as in transformers. The codevectors and each projection go to `tap`.
    func quantize(extractFeatures: [Float], rows: Int, context: KernelContext,
                  tap: StageTap? = nil) throws -> (projected: [Float], perplexity: Float) {
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
        try tap?(Self.paths.quantizer, &quantized, columns: groups * part)
        var projected = try context.linear(quantized, rows: rows, projectQ)  // [rows, P]
        try tap?(Self.paths.projectQ, &projected, columns: projectQ.outFeatures)
        guard !projectsHiddenStates else { return (projected, Float(perplexity)) }
        var states = try context.linear(projected, rows: rows, projectHidden)  // [rows, H]
        try tap?(Self.paths.projectHid, &states, columns: projectHidden.outFeatures)
        return (states, Float(perplexity))
    }
}

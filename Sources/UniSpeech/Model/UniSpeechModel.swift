import Foundation

/// The heads a UniSpeech checkpoint can carry; `base` is the bare UniSpeechModel.
public enum ModelHead: String, CaseIterable, Sendable {
    case base, ctc, classification, pretraining

    /// The transformers class with this head.
    public var architecture: String {
        switch self {
        case .base: return "UniSpeechModel"
        case .ctc: return "UniSpeechForCTC"
        case .classification: return "UniSpeechForSequenceClassification"
        case .pretraining: return "UniSpeechForPreTraining"
        }
    }

    init?(architecture: String) {
        guard let head = Self.allCases.first(where: { $0.architecture == architecture }) else { return nil }
        self = head
    }

    /// Names of this head's outputs, in transformers' order.
    public var outputNames: [String] {
        switch self {
        case .base: return ["last_hidden_state", "extract_features"]
        case .ctc, .classification: return ["logits"]
        case .pretraining: return ["projected_states", "projected_quantized_states", "codevector_perplexity"]
        }
    }
}

/// One named output tensor, row-major f32.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// A head's outputs in transformers' order, with the real frame count of each batch item.
public struct ModelOutput: Sendable {
    public var head: ModelHead
    public var tensors: [NamedTensor]
    /// Output frames of each item's unpadded samples (the conv length formula); frames past it are padding.
    public var frameLengths: [Int]
    /// Wall-clock seconds of each forward phase, in order (feature_encoder, projection, encoder, head).
    public var phaseSeconds: [(name: String, seconds: Double)] = []

    /// The tensor called `name`, if this head outputs it.
    public subscript(name: String) -> NamedTensor? { tensors.first { $0.name == name } }
}

extension UniSpeechConfig {
    /// The conv stack's and positional conv's activation (`validate` has checked the name).
    var featureActivation: Activation { Activation(rawValue: featExtractActivation)! }
    /// The feed-forward activation (`validate` has checked the name).
    var hiddenActivation: Activation { Activation(rawValue: hiddenAct)! }
}

/// The UniSpeech graph in eval mode with every head its weights hold, loaded strictly: a missing tensor, a wrong
/// shape or a tensor no module reads is an error naming it.
public final class UniSpeechModel: Sendable {
    public let config: UniSpeechConfig
    public let featureExtractorConfig: FeatureExtractorConfig
    /// What the model was loaded from, for messages.
    public let description: String
    let featureEncoder: FeatureEncoder
    let featureProjection: FeatureProjection
    let encoder: Encoder
    let ctcHead: CTCHead?
    let classificationHead: ClassificationHead?
    let pretrainingHead: PretrainingHead?
    private let workspaces = WorkspacePool()
    /// True when some weights are int8 (and run on oneDNN).
    private let quantized: Bool

    /// Builds the model from a bundle's weights.
    public init(bundle: ModelBundle) throws {
        config = bundle.config
        featureExtractorConfig = bundle.featureExtractor
        description = bundle.description
        let weights = WeightLoader(bundle.weights)
        quantized = bundle.weights.tensors.contains { $0.dtype == .i8 }
        featureEncoder = try FeatureEncoder(config: config, weights: weights)
        featureProjection = try FeatureProjection(config: config, weights: weights)
        encoder = try Encoder(config: config, weights: weights)
        let wanted = Set(config.architectures.compactMap(ModelHead.init(architecture:)))
            .union(ModelHead.present(in: bundle.weights.tensors.map(\.name)))
        ctcHead = wanted.contains(.ctc) ? try CTCHead(config: config, weights: weights) : nil
        classificationHead = wanted.contains(.classification) ? try ClassificationHead(config: config, weights: weights) : nil
        pretrainingHead = wanted.contains(.pretraining) ? try PretrainingHead(config: config, weights: weights) : nil
        try weights.checkAllUsed()
    }

    /// Heads this model can run: always `base`, plus each head whose weights were loaded.
    public var availableHeads: [ModelHead] {
        var heads: [ModelHead] = [.base]
        if ctcHead != nil { heads.append(.ctc) }
        if classificationHead != nil { heads.append(.classification) }
        if pretrainingHead != nil { heads.append(.pretraining) }
        return heads
    }

    /// The head `architectures` names when loaded, else the one head loaded besides base, else base.
    public var defaultHead: ModelHead {
        let available = availableHeads
        if let named = config.architectures.compactMap(ModelHead.init(architecture:)).first(where: available.contains) {
            return named
        }
        return available.last ?? .base
    }

    /// Runs the forward pass of `head` on a padded batch.
    public func run(_ batch: InputBatch, head: ModelHead) throws -> ModelOutput {
        guard availableHeads.contains(head) else {
            throw ModelError.headNotAvailable(model: description, head: head.rawValue, available: availableHeads.map(\.rawValue))
        }
        guard batch.batchSize > 0 else { throw ModelError.emptyBatch }
        let lengths = batch.lengths.map(config.outputLength(forSamples:))
        if let short = lengths.firstIndex(of: 0) { throw ModelError.inputTooShort(index: short, samples: batch.lengths[short]) }
        let size = batch.batchSize, padded = batch.paddedLength
        var phases = PhaseClock()

        return workspaces.withWorkspace { workspace in
            // int8 layers run on oneDNN's OpenMP threads; OpenBLAS's would compete with them for the cores.
            quantized ? Kernels.withSingleThreadedBLAS { forward(batch, head: head, lengths: lengths, workspace: workspace) }
                : forward(batch, head: head, lengths: lengths, workspace: workspace)
        }
    }

    /// The forward pass of a validated batch, every large intermediate in `workspace`.
    private func forward(_ batch: InputBatch, head: ModelHead, lengths: [Int], workspace: Workspace) -> ModelOutput {
        let size = batch.batchSize, padded = batch.paddedLength
        var phases = PhaseClock()
        let frames = config.outputLength(forSamples: padded), channels = featureProjection.norm.size
        let rows = size * frames, hidden = config.hiddenSize
        let features = workspace.buffer(.features, count: rows * channels)  // [B * T, C]
        batch.values.withUnsafeBufferPointer { samples in
            for b in 0..<size {
                _ = featureEncoder(samples.baseAddress! + b * padded, samples: padded, into: features + b * frames * channels,
                                   workspace: workspace)  // [T, C]
            }
        }
        phases.mark("feature_encoder")
        // transformers derives frame masks from the attention mask; without one every padded frame is attended.
        let maskedLengths: [Int]? = batch.attentionMask.map { mask in
            (0..<size).map { b in
                config.outputLength(forSamples: mask[(b * padded)..<((b + 1) * padded)].reduce(0) { $0 + Int($1) })
            }
        }
        let normedFeatures = workspace.buffer(.normedFeatures, count: rows * channels)  // [B * T, C]
        let projected = workspace.buffer(.projected, count: rows * hidden)  // [B * T, H]
        featureProjection(features, rows: rows, into: projected, normed: normedFeatures, workspace: workspace)
        let extractFeatures = { Array(UnsafeBufferPointer(start: normedFeatures, count: rows * channels)) }
        phases.mark("projection")
        let encoded = encoder(projected, batch: size, frames: frames, frameLengths: maskedLengths,
                              recordHiddenStates: head == .classification && config.useWeightedLayerSum, workspace: workspace)
        phases.mark("encoder")

        let tensors: [NamedTensor]
        switch head {
        case .base:
            tensors = [NamedTensor(name: "last_hidden_state", shape: [size, frames, hidden], values: encoded.last),
                       NamedTensor(name: "extract_features", shape: [size, frames, channels], values: extractFeatures())]
        case .ctc:
            let logits = ctcHead!(encoded.last, rows: rows)  // [B * T, vocab]
            tensors = [NamedTensor(name: "logits", shape: [size, frames, config.vocabSize], values: logits)]
        case .classification:
            let logits = classificationHead!(last: encoded.last, hiddenStates: encoded.hiddenStates, batch: size,
                                             frames: frames, frameLengths: maskedLengths)  // [B, labels]
            tensors = [NamedTensor(name: "logits", shape: [size, config.numLabels], values: logits)]
        case .pretraining:
            let (quantized, perplexity) = pretrainingHead!(extractFeatures: extractFeatures(), rows: rows)
            tensors = [NamedTensor(name: "projected_states", shape: [size, frames, hidden], values: encoded.last),
                       NamedTensor(name: "projected_quantized_states", shape: [size, frames, hidden], values: quantized),
                       NamedTensor(name: "codevector_perplexity", shape: [1], values: [perplexity])]
        }
        phases.mark("head")
        return ModelOutput(head: head, tensors: tensors, frameLengths: lengths, phaseSeconds: phases.phases)
    }
}

/// Wall-clock seconds between successive marks.
struct PhaseClock {
    private var last = DispatchTime.now().uptimeNanoseconds
    private(set) var phases: [(name: String, seconds: Double)] = []

    mutating func mark(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        phases.append((name, Double(now - last) / 1e9))
        last = now
    }
}

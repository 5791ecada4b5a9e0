import Foundation
import UniSpeechCore
import UniSpeechKernels

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
        case .base: return [OutputName.lastHiddenState, OutputName.extractFeatures]
        case .ctc, .classification: return [OutputName.logits]
        case .pretraining: return [OutputName.projectedStates, OutputName.projectedQuantizedStates, OutputName.codevectorPerplexity]
        }
    }
}

/// transformers' names of the model outputs, each written here once.
public enum OutputName {
    public static let lastHiddenState = "last_hidden_state"
    public static let extractFeatures = "extract_features"
    public static let logits = "logits"
    public static let projectedStates = "projected_states"
    public static let projectedQuantizedStates = "projected_quantized_states"
    public static let codevectorPerplexity = "codevector_perplexity"
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
/// shape or a tensor no module reads is an error naming it. Runs on its own `ComputeEngine`; calls from several
/// tasks at once each get their own workspace.
public final class UniSpeechModel: Sendable {
    public let config: UniSpeechConfig
    public let featureExtractorConfig: FeatureExtractorConfig
    /// What the model was loaded from, for messages.
    public let description: String
    /// The kernels' engine: GEMM library, threads, primitives.
    public let engine: ComputeEngine
    let featureEncoder: FeatureEncoder
    let featureProjection: FeatureProjection
    let encoder: Encoder
    let ctcHead: CTCHead?
    let classificationHead: ClassificationHead?
    let pretrainingHead: PretrainingHead?

    static let slots = (waveforms: WorkspaceSlot("model.waveforms"), features: WorkspaceSlot("model.features"),
                        normedFeatures: WorkspaceSlot("model.normed-features"), projected: WorkspaceSlot("model.projected"))

    /// Builds the model from a bundle's weights, to run on `engine`.
    public init(bundle: ModelBundle, engine: ComputeEngine) throws {
        config = bundle.config
        featureExtractorConfig = bundle.featureExtractor
        description = bundle.description
        self.engine = engine
        let weights = WeightLoader(bundle.weights)
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

    /// Builds the model from a bundle's weights, to run on a oneDNN engine with one thread per core.
    public convenience init(bundle: ModelBundle) throws {
        try self.init(bundle: bundle, engine: try ComputeEngine())
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

    /// Output frames of each batch item's unpadded samples; throws when an item is too short for one frame.
    public func frameLengths(_ batch: InputBatch) throws -> [Int] {
        guard batch.batchSize > 0 else { throw ModelError.emptyBatch }
        let lengths = batch.lengths.map(config.outputLength(forSamples:))
        if let short = lengths.firstIndex(of: 0) { throw ModelError.inputTooShort(index: short, samples: batch.lengths[short]) }
        return lengths
    }

    /// Runs the forward pass of `head` on a padded batch.
    public func run(_ batch: InputBatch, head: ModelHead) throws -> ModelOutput {
        guard availableHeads.contains(head) else {
            throw ModelError.headNotAvailable(model: description, head: head.rawValue, available: availableHeads.map(\.rawValue))
        }
        let lengths = try frameLengths(batch)
        return try engine.withContext { context in try forward(batch, head: head, lengths: lengths, context: context) }
    }

    /// The chosen codevector of every (real frame, group) of each batch item, from the base head's output
    /// (the pretraining quantizer's choice in eval).
    public func codevectorIndices(_ base: ModelOutput) throws -> [Int] {
        guard let pretrainingHead, let features = base[OutputName.extractFeatures] else {
            throw ModelError.headNotAvailable(model: description, head: ModelHead.pretraining.rawValue,
                                              available: availableHeads.map(\.rawValue))
        }
        let (frames, channels) = (features.shape[1], features.shape[2])
        var real: [Float] = []
        for (b, length) in base.frameLengths.enumerated() {
            real += features.values[(b * frames * channels)..<((b * frames + min(length, frames)) * channels)]
        }
        return try engine.withContext { context in
            try pretrainingHead.codevectorIndices(extractFeatures: real, rows: real.count / channels, context: context)
        }
    }

    /// The forward pass of a validated batch, every large intermediate in the context's workspace.
    private func forward(_ batch: InputBatch, head: ModelHead, lengths: [Int], context: KernelContext) throws -> ModelOutput {
        let size = batch.batchSize, padded = batch.paddedLength
        var phases = PhaseClock()
        let frames = config.outputLength(forSamples: padded), channels = featureProjection.norm.size
        let rows = size * frames, hidden = config.hiddenSize
        let waveforms = context.matrix(Self.slots.waveforms, copying: batch.values, rows: size * padded, columns: 1)
        let features = context.buffer(Self.slots.features, rows: rows, columns: channels)  // [B * T, C]
        for b in 0..<size {
            _ = try featureEncoder(waveforms.readOnly.rows((b * padded)..<((b + 1) * padded)),
                                   into: features.rows((b * frames)..<((b + 1) * frames)), context: context)  // [T, C]
        }
        phases.mark("feature_encoder")
        // transformers derives frame masks from the attention mask; without one every padded frame is attended.
        let maskedLengths: [Int]? = batch.attentionMask.map { mask in
            (0..<size).map { b in
                config.outputLength(forSamples: mask[(b * padded)..<((b + 1) * padded)].reduce(0) { $0 + Int($1) })
            }
        }
        let normedFeatures = context.buffer(Self.slots.normedFeatures, rows: rows, columns: channels)  // [B * T, C]
        let projected = context.buffer(Self.slots.projected, rows: rows, columns: hidden)  // [B * T, H]
        try featureProjection(features.readOnly, into: projected, normed: normedFeatures, context: context)
        let extractFeatures = normedFeatures.array()
        phases.mark("projection")
        let encoded = try encoder(projected.readOnly, batch: size, frameLengths: maskedLengths,
                                  recordHiddenStates: head == .classification && config.useWeightedLayerSum, context: context)
        phases.mark("encoder")

        let tensors: [NamedTensor]
        switch head {
        case .base:
            tensors = [NamedTensor(name: OutputName.lastHiddenState, shape: [size, frames, hidden], values: encoded.last),
                       NamedTensor(name: OutputName.extractFeatures, shape: [size, frames, channels], values: extractFeatures)]
        case .ctc:
            let logits = try ctcHead!(encoded.last, rows: rows, context: context)  // [B * T, vocab]
            tensors = [NamedTensor(name: OutputName.logits, shape: [size, frames, config.vocabSize], values: logits)]
        case .classification:
            let logits = try classificationHead!(last: encoded.last, hiddenStates: encoded.hiddenStates, batch: size,
                                                 frames: frames, frameLengths: maskedLengths, context: context)  // [B, labels]
            tensors = [NamedTensor(name: OutputName.logits, shape: [size, config.numLabels], values: logits)]
        case .pretraining:
            let (quantized, perplexity) = try pretrainingHead!(extractFeatures: extractFeatures, rows: rows, context: context)
            tensors = [NamedTensor(name: OutputName.projectedStates, shape: [size, frames, hidden], values: encoded.last),
                       NamedTensor(name: OutputName.projectedQuantizedStates, shape: [size, frames, hidden], values: quantized),
                       NamedTensor(name: OutputName.codevectorPerplexity, shape: [1], values: [perplexity])]
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

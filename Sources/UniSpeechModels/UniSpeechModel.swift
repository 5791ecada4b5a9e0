import Foundation
import UniSpeechCore
import UniSpeechKernels

/// The heads a family checkpoint can carry (transformers' `<Prefix>Model` and `<Prefix>For*` classes); `base` is
/// the bare model. Which families have which: `ModelFamily.heads`.
public enum ModelHead: String, CaseIterable, Sendable {
    case base, ctc, classification
    case frameClassification = "frame-classification"
    case xvector, pretraining

    /// Names of this head's outputs in `family`, in transformers' order (hidden states not included).
    public func outputNames(family: ModelFamily) -> [String] {
        switch self {
        case .base:
            return family.outputsExtractFeatures ? [OutputName.lastHiddenState, OutputName.extractFeatures] : [OutputName.lastHiddenState]
        case .ctc, .classification, .frameClassification: return [OutputName.logits]
        case .xvector: return [OutputName.logits, OutputName.embeddings]
        case .pretraining:
            return family.pretrainingQuantizes
                ? [OutputName.projectedStates, OutputName.projectedQuantizedStates, OutputName.codevectorPerplexity]
                : [OutputName.logits, OutputName.projectedStates]
        }
    }
}

/// transformers' names of the model outputs, each written here once.
public enum OutputName {
    public static let lastHiddenState = "last_hidden_state"
    public static let extractFeatures = "extract_features"
    public static let logits = "logits"
    public static let embeddings = "embeddings"
    public static let projectedStates = "projected_states"
    public static let projectedQuantizedStates = "projected_quantized_states"
    public static let codevectorPerplexity = "codevector_perplexity"

    /// `hidden_states.<index>`: the encoder's input (0), then each layer's output, as transformers 5.x records them.
    public static func hiddenState(_ index: Int) -> String { "hidden_states.\(index)" }
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

/// A head's outputs in transformers' order (then the hidden states when asked for), with the real frame count of
/// each batch item.
public struct ModelOutput: Sendable {
    public var head: ModelHead
    public var tensors: [NamedTensor]
    /// Real frames of each item on the head's time axis: the conv stack's output for each item's unpadded samples,
    /// through the conv adapter (transformers' length rule) for CTC logits; frames past it are padding.
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

/// The graph of a UniSpeech-family model (`ModelFamily`) in eval mode with every head its weights hold, loaded
/// strictly: a config count that disagrees with the weights, a missing tensor, a wrong shape or a tensor no module
/// reads is an error naming it. Runs on its own `ComputeEngine`; calls from several tasks at once each get their own
/// workspace.
public final class UniSpeechModel: Sendable {
    public let config: UniSpeechConfig
    public let featureExtractorConfig: FeatureExtractorConfig
    /// What the model was loaded from, for messages.
    public let description: String
    /// The kernels' engine: GEMM library, threads, primitives.
    public let engine: ComputeEngine
    /// Heads this model can run: always `base`, plus each head whose weights were loaded, in `ModelHead` order.
    public let availableHeads: [ModelHead]
    let featureEncoder: FeatureEncoder
    let featureProjection: FeatureProjection
    let encoder: Encoder
    let convAdapter: ConvAdapter?
    let ctcHead: CTCHead?
    let classificationHead: ClassificationHead?
    let frameClassificationHead: FrameClassificationHead?
    let xvectorHead: XVectorHead?
    /// Wav2Vec2's and UniSpeech's quantizer head (UniSpeechSat's pretraining outputs need no weights).
    let pretrainingHead: PretrainingHead?

    static let slots = (waveforms: WorkspaceSlot("model.waveforms"), features: WorkspaceSlot("model.features"),
                        normedFeatures: WorkspaceSlot("model.normed-features"), projected: WorkspaceSlot("model.projected"))

    /// Builds the model from a bundle's weights, to run on `engine`.
    public init(bundle: ModelBundle, engine: ComputeEngine) throws {
        config = bundle.config
        featureExtractorConfig = bundle.featureExtractor
        description = bundle.description
        self.engine = engine
        let family = config.family
        let names = bundle.weights.tensors.map(\.name)
        let wanted = Set(config.architectures.compactMap(family.head(forArchitecture:)))
            .union(ModelHead.present(in: names)).intersection(family.heads)
        try config.checkCounts(against: names, heads: wanted)
        let weights = WeightLoader(bundle.weights, family: family)
        featureEncoder = try FeatureEncoder(config: config, weights: weights)
        featureProjection = try FeatureProjection(config: config, weights: weights)
        encoder = try Encoder(config: config, weights: weights)
        convAdapter = config.hasConvAdapter ? try ConvAdapter(config: config, weights: weights) : nil
        let statesWidth = convAdapter?.width ?? config.hiddenSize
        ctcHead = wanted.contains(.ctc) ? try CTCHead(config: config, weights: weights) : nil
        classificationHead = wanted.contains(.classification) ? try ClassificationHead(config: config, weights: weights) : nil
        frameClassificationHead = wanted.contains(.frameClassification)
            ? try FrameClassificationHead(config: config, weights: weights) : nil
        xvectorHead = wanted.contains(.xvector) ? try XVectorHead(config: config, statesWidth: statesWidth, weights: weights) : nil
        pretrainingHead = wanted.contains(.pretraining) && family.pretrainingQuantizes
            ? try PretrainingHead(config: config, statesWidth: statesWidth, weights: weights) : nil
        availableHeads = family.heads.filter { $0 == .base || wanted.contains($0) }
        try weights.checkAllUsed()
    }

    /// Builds the model from a bundle's weights, to run on a oneDNN engine with one thread per core.
    public convenience init(bundle: ModelBundle) throws {
        try self.init(bundle: bundle, engine: try ComputeEngine())
    }

    /// The head `architectures` names when loaded, else the last head loaded besides base, else base.
    public var defaultHead: ModelHead {
        let available = availableHeads
        if let named = config.architectures.compactMap(config.family.head(forArchitecture:)).first(where: available.contains) {
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

    /// Runs the forward pass of `head` on a padded batch; with `hiddenStates` the outputs end with transformers'
    /// `hidden_states.0 ... hidden_states.N` ([B, T, H] each). `observer` sees every stage's output in graph order
    /// (`StageOutput`) and may replace it; without one the forward does no extra work.
    public func run(_ batch: InputBatch, head: ModelHead, hiddenStates: Bool = false, observer: StageObserver? = nil) throws -> ModelOutput {
        guard availableHeads.contains(head) else {
            throw ModelError.headNotAvailable(model: description, head: head.rawValue, available: availableHeads.map(\.rawValue))
        }
        let lengths = try frameLengths(batch)
        let tap = observer.map { StageTap(observer: $0, head: head, frameLengths: lengths) }
        return try engine.withContext { context in
            try forward(batch, head: head, lengths: lengths, hiddenStates: hiddenStates, tap: tap, context: context)
        }
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
    private func forward(_ batch: InputBatch, head: ModelHead, lengths: [Int], hiddenStates: Bool, tap: StageTap?,
                         context: KernelContext) throws -> ModelOutput {
        let size = batch.batchSize, padded = batch.paddedLength
        var phases = PhaseClock()
        let frames = config.outputLength(forSamples: padded), channels = featureProjection.channels
        let rows = size * frames, hidden = config.hiddenSize
        let waveforms = context.matrix(Self.slots.waveforms, copying: batch.values, rows: size * padded, columns: 1)
        let features = context.buffer(Self.slots.features, rows: rows, columns: channels)  // [B * T, C]
        for b in 0..<size {
            _ = try featureEncoder(waveforms.readOnly.rows((b * padded)..<((b + 1) * padded)),
                                   into: features.rows((b * frames)..<((b + 1) * frames)), context: context,
                                   tap: tap, item: b, realSamples: batch.lengths[b])  // [T, C]
        }
        phases.mark("feature_encoder")
        // transformers derives frame masks from the attention mask; without one every padded frame is attended.
        let maskedSamples: [Int]? = batch.attentionMask.map { mask in
            (0..<size).map { b in mask[(b * padded)..<((b + 1) * padded)].reduce(0) { $0 + Int($1) } }
        }
        let maskedLengths = maskedSamples?.map(config.outputLength(forSamples:))
        let normedFeatures = context.buffer(Self.slots.normedFeatures, rows: rows, columns: channels)  // [B * T, C]
        let projected = context.buffer(Self.slots.projected, rows: rows, columns: hidden)  // [B * T, H]
        try featureProjection(features.readOnly, into: projected, normed: normedFeatures, context: context, tap: tap)
        let extractFeatures = normedFeatures.array()  // [B * T, C]
        phases.mark("projection")
        let weightedHeads: Set<ModelHead> = [.classification, .frameClassification, .xvector]
        let encoded = try encoder(projected.readOnly, batch: size, frameLengths: maskedLengths,
                                  recordHiddenStates: hiddenStates || (config.useWeightedLayerSum && weightedHeads.contains(head)),
                                  context: context, tap: tap)
        var last: [Float], lastFrames = frames, lastWidth = hidden  // [B * T', W]: after the conv adapter, if any
        // Real frames of the last hidden state: transformers' length rule through the adapter.
        var adaptedLengths = lengths
        if let convAdapter {
            (last, lastFrames) = try convAdapter(encoded.last.readOnly, batch: size, context: context, tap: tap)
            lastWidth = convAdapter.width
            adaptedLengths = batch.lengths.map { min(config.adaptedOutputLength(forSamples: $0), lastFrames) }
        } else {
            last = encoded.last.array()
        }
        phases.mark("encoder")

        var frameLengths = lengths
        let tensors: [NamedTensor]
        switch head {
        case .base:
            tensors = [NamedTensor(name: OutputName.lastHiddenState, shape: [size, lastFrames, lastWidth], values: last)]
                + (config.family.outputsExtractFeatures
                    ? [NamedTensor(name: OutputName.extractFeatures, shape: [size, frames, channels], values: extractFeatures)] : [])
        case .ctc:
            frameLengths = adaptedLengths
            let logits = try ctcHead!(last, rows: size * lastFrames, context: context, tap: tap,
                                      realRows: frameLengths)  // [B * T', vocab]
            tensors = [NamedTensor(name: OutputName.logits, shape: [size, lastFrames, config.vocabSize], values: logits)]
        case .classification:
            let logits = try classificationHead!(last: last, hiddenStates: encoded.hiddenStates, batch: size,
                                                 frames: frames, frameLengths: maskedLengths, context: context,
                                                 tap: tap)  // [B, labels]
            tensors = [NamedTensor(name: OutputName.logits, shape: [size, config.numLabels], values: logits)]
        case .frameClassification:
            let logits = try frameClassificationHead!(last: last, hiddenStates: encoded.hiddenStates, rows: rows,
                                                      context: context, tap: tap)  // [B * T, labels]
            tensors = [NamedTensor(name: OutputName.logits, shape: [size, frames, config.numLabels], values: logits)]
        case .xvector:
            let xvector = xvectorHead!
            let poolingLengths = maskedSamples?.map { xvector.poolingLength(config.adaptedOutputLength(forSamples: $0)) }
            let readsLast = xvector.layerSum == nil
            let (embeddings, logits) = try xvector(last: last, hiddenStates: encoded.hiddenStates, batch: size,
                                                   frames: readsLast ? lastFrames : frames, poolingLengths: poolingLengths,
                                                   context: context, tap: tap,
                                                   realFrames: readsLast ? adaptedLengths : lengths)  // [B, X] each
            tensors = [NamedTensor(name: OutputName.logits, shape: [size, config.xvectorOutputDim], values: logits),
                       NamedTensor(name: OutputName.embeddings, shape: [size, config.xvectorOutputDim], values: embeddings)]
        case .pretraining:
            if let pretrainingHead {
                let states = try pretrainingHead.projectedStates(last, rows: size * lastFrames, context: context, tap: tap,
                                                                 realRows: adaptedLengths)  // [B * T', P or W]
                let (quantized, perplexity) = try pretrainingHead.quantize(extractFeatures: extractFeatures, rows: rows,
                                                                           context: context, tap: tap)  // [B * T, P or H]
                tensors = [NamedTensor(name: OutputName.projectedStates, shape: [size, lastFrames, states.count / (size * lastFrames)],
                                       values: states),
                           NamedTensor(name: OutputName.projectedQuantizedStates, shape: [size, frames, quantized.count / rows],
                                       values: quantized),
                           NamedTensor(name: OutputName.codevectorPerplexity, shape: [1], values: [perplexity])]
            } else {
                // UniSpeechSatForPreTraining (transformers 5.24): logits = extract_features, projected_states = the last state.
                tensors = [NamedTensor(name: OutputName.logits, shape: [size, frames, channels], values: extractFeatures),
                           NamedTensor(name: OutputName.projectedStates, shape: [size, lastFrames, lastWidth], values: last)]
            }
        }
        phases.mark("head")
        let recorded = hiddenStates ? encoded.hiddenStates.enumerated().map {
            NamedTensor(name: OutputName.hiddenState($0.offset), shape: [size, frames, hidden], values: $0.element)
        } : []
        return ModelOutput(head: head, tensors: tensors + recorded, frameLengths: frameLengths, phaseSeconds: phases.phases)
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

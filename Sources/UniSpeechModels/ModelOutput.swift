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
    /// What `hiddenState(_:)` names begin with.
    public static let hiddenStatePrefix = "hidden_states."

    /// `hidden_states.<index>`: the encoder's input (0), then each layer's output, as transformers 5.x records them.
    public static func hiddenState(_ index: Int) -> String { hiddenStatePrefix + String(index) }
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

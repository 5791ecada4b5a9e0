/// The speech encoders that share UniSpeech's graph, by config.json's `model_type`, with what sets each apart
/// (transformers 5.24's modeling files; /work/notes/family-semantics.md).
public enum ModelFamily: String, CaseIterable, Sendable {
    case unispeech
    case wav2vec2
    case hubert
    case unispeechSat = "unispeech-sat"
    case wavlm
    case data2vecAudio = "data2vec-audio"

    /// The transformers class-name prefix, e.g. "Wav2Vec2" in "Wav2Vec2ForCTC".
    public var classPrefix: String {
        switch self {
        case .unispeech: return "UniSpeech"
        case .wav2vec2: return "Wav2Vec2"
        case .hubert: return "Hubert"
        case .unispeechSat: return "UniSpeechSat"
        case .wavlm: return "WavLM"
        case .data2vecAudio: return "Data2VecAudio"
        }
    }

    /// `base_model_prefix`: the name the base model's tensors sit under inside a head model.
    public var baseModelPrefix: String {
        switch self {
        case .unispeech: return "unispeech"
        case .wav2vec2: return "wav2vec2"
        case .hubert: return "hubert"
        case .unispeechSat: return "unispeech_sat"
        case .wavlm: return "wavlm"
        case .data2vecAudio: return "data2vec_audio"
        }
    }

    /// The heads transformers exports for the family, in `ModelHead.allCases` order.
    public var heads: [ModelHead] {
        switch self {
        case .unispeech: return [.base, .ctc, .classification, .pretraining]
        case .wav2vec2, .unispeechSat: return [.base, .ctc, .classification, .frameClassification, .xvector, .pretraining]
        case .hubert: return [.base, .ctc, .classification]
        case .wavlm, .data2vecAudio: return [.base, .ctc, .classification, .frameClassification, .xvector]
        }
    }

    /// The transformers class of `head` in this family, e.g. "HubertForCTC".
    public func architecture(of head: ModelHead) -> String { classPrefix + head.classSuffix }

    /// The head a transformers class name stands for in this family, nil for another family's class.
    public func head(forArchitecture name: String) -> ModelHead? {
        heads.first { architecture(of: $0) == name }
    }

    /// The family with a class called `architecture`, e.g. `.hubert` for "HubertForCTC".
    public static func owning(architecture: String) -> ModelFamily? {
        allCases.first { $0.head(forArchitecture: architecture) != nil }
    }

    /// The family whose base-model prefix begins some of `names` (stored HF tensor names), nil when none does.
    public static func owning(tensorNames names: [String]) -> ModelFamily? {
        allCases.first { family in names.contains { $0.hasPrefix(family.baseModelPrefix + ".") } }
    }

    /// Whether the positional conv and encoder come in both layer-norm orders (Data2VecAudio: post-LN only, with
    /// LayerNorm in every feature-encoder layer).
    public var hasNormChoice: Bool { self != .data2vecAudio }

    /// Whether the config's `add_adapter` builds the conv adapter after the encoder.
    public var hasConvAdapter: Bool { [.wav2vec2, .wavlm, .data2vecAudio].contains(self) }

    /// Whether pre-LN layers build MMS attention adapters when the config carries `adapter_attn_dim`.
    public var hasAttentionAdapters: Bool { [.unispeech, .wav2vec2, .hubert, .unispeechSat].contains(self) }

    /// Whether `<Prefix>Model` returns `extract_features` (HuBERT returns only the hidden states).
    public var outputsExtractFeatures: Bool { self != .hubert }

    /// Whether the pretraining head runs the Gumbel quantizer (UniSpeechSat's loads it but never runs it).
    public var pretrainingQuantizes: Bool { self == .unispeech || self == .wav2vec2 }
}

extension ModelHead {
    /// What follows the family prefix in the transformers class name.
    var classSuffix: String {
        switch self {
        case .base: return "Model"
        case .ctc: return "ForCTC"
        case .classification: return "ForSequenceClassification"
        case .frameClassification: return "ForAudioFrameClassification"
        case .xvector: return "ForXVector"
        case .pretraining: return "ForPreTraining"
        }
    }
}

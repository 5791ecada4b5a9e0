import Foundation
import UniSpeechCore
import UniSpeechKernels

/// Why a config.json was rejected.
public enum ConfigError: LocalizedError, Equatable {
    case unreadable(path: String, reason: String)
    case wrongType(path: String, field: String, expected: String)
    case invalid(path: String, field: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read config (\(reason))"
        case let .wrongType(path, field, expected): return "\(path): field '\(field)' must be \(expected)"
        case let .invalid(path, field, reason): return "\(path): field '\(field)' \(reason)"
        }
    }
}

/// Every field of transformers' UniSpeechConfig, with the HF default when the field is absent.
public struct UniSpeechConfig: Sendable, Equatable {
    public var vocabSize = 32
    public var hiddenSize = 768
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var intermediateSize = 3072
    public var hiddenAct = "gelu"
    public var hiddenDropout = 0.1
    public var activationDropout = 0.1
    public var attentionDropout = 0.1
    public var featProjDropout = 0.0
    public var featQuantizerDropout = 0.0
    public var finalDropout = 0.1
    public var layerdrop = 0.1
    public var initializerRange = 0.02
    public var layerNormEps = 1e-5
    public var featExtractNorm = "group"
    public var featExtractActivation = "gelu"
    public var convDim = [512, 512, 512, 512, 512, 512, 512]
    public var convStride = [5, 2, 2, 2, 2, 2, 2]
    public var convKernel = [10, 3, 3, 3, 3, 2, 2]
    public var convBias = false
    public var numConvPosEmbeddings = 128
    public var numConvPosEmbeddingGroups = 16
    public var doStableLayerNorm = false
    public var applySpecAugment = true
    public var maskTimeProb = 0.05
    public var maskTimeLength = 10
    public var maskTimeMinMasks = 2
    public var maskFeatureProb = 0.0
    public var maskFeatureLength = 10
    public var maskFeatureMinMasks = 0
    public var numCodevectorsPerGroup = 320
    public var numCodevectorGroups = 2
    public var contrastiveLogitsTemperature = 0.1
    public var numNegatives = 100
    public var codevectorDim = 256
    public var projCodevectorDim = 256
    public var diversityLossWeight = 0.1
    public var ctcLossReduction = "mean"
    public var ctcZeroInfinity = false
    public var useWeightedLayerSum = false
    public var classifierProjSize = 256
    public var numCtcClasses = 80
    public var padTokenId: Int? = 0
    public var bosTokenId: Int? = 1
    public var eosTokenId: Int? = 2
    public var replaceProb = 0.5
    /// `architectures[0]` when present, e.g. "UniSpeechForCTC".
    public var architectures: [String] = []
    /// Class labels by id (from `id2label`; keys are decimal strings in the JSON).
    public var id2label: [Int: String] = [:]
    /// The config as read, kept whole so a native file can carry it unchanged.
    public var raw: JSONValue = .object([])

    /// Activation names the feature encoder and the feed-forward accept (transformers' ACT2FN subset).
    public static var supportedActivations: Set<String> { Activation.names }

    /// The HF field names, each written here once.
    public enum Key {
        public static let vocabSize = "vocab_size"
        public static let hiddenSize = "hidden_size"
        public static let numHiddenLayers = "num_hidden_layers"
        public static let numAttentionHeads = "num_attention_heads"
        public static let intermediateSize = "intermediate_size"
        public static let hiddenAct = "hidden_act"
        public static let hiddenDropout = "hidden_dropout"
        public static let activationDropout = "activation_dropout"
        public static let attentionDropout = "attention_dropout"
        public static let featProjDropout = "feat_proj_dropout"
        public static let featQuantizerDropout = "feat_quantizer_dropout"
        public static let finalDropout = "final_dropout"
        public static let layerdrop = "layerdrop"
        public static let initializerRange = "initializer_range"
        public static let layerNormEps = "layer_norm_eps"
        public static let featExtractNorm = "feat_extract_norm"
        public static let featExtractActivation = "feat_extract_activation"
        public static let convDim = "conv_dim"
        public static let convStride = "conv_stride"
        public static let convKernel = "conv_kernel"
        public static let convBias = "conv_bias"
        public static let numConvPosEmbeddings = "num_conv_pos_embeddings"
        public static let numConvPosEmbeddingGroups = "num_conv_pos_embedding_groups"
        public static let doStableLayerNorm = "do_stable_layer_norm"
        public static let applySpecAugment = "apply_spec_augment"
        public static let maskTimeProb = "mask_time_prob"
        public static let maskTimeLength = "mask_time_length"
        public static let maskTimeMinMasks = "mask_time_min_masks"
        public static let maskFeatureProb = "mask_feature_prob"
        public static let maskFeatureLength = "mask_feature_length"
        public static let maskFeatureMinMasks = "mask_feature_min_masks"
        public static let numCodevectorsPerGroup = "num_codevectors_per_group"
        public static let numCodevectorGroups = "num_codevector_groups"
        public static let contrastiveLogitsTemperature = "contrastive_logits_temperature"
        public static let numNegatives = "num_negatives"
        public static let codevectorDim = "codevector_dim"
        public static let projCodevectorDim = "proj_codevector_dim"
        public static let diversityLossWeight = "diversity_loss_weight"
        public static let ctcLossReduction = "ctc_loss_reduction"
        public static let ctcZeroInfinity = "ctc_zero_infinity"
        public static let useWeightedLayerSum = "use_weighted_layer_sum"
        public static let classifierProjSize = "classifier_proj_size"
        public static let numCtcClasses = "num_ctc_classes"
        public static let padTokenId = "pad_token_id"
        public static let bosTokenId = "bos_token_id"
        public static let eosTokenId = "eos_token_id"
        public static let replaceProb = "replace_prob"
        public static let architectures = "architectures"
        public static let id2label = "id2label"
        public static let numLabels = "num_labels"
    }

    public init() {}

    /// Number of labels for classification: id2label's size, else `num_labels`, else 2 as in HF.
    public var numLabels: Int {
        if !id2label.isEmpty { return id2label.count }
        return raw[Key.numLabels]?.intValue ?? 2
    }

    /// Kernel and stride of each feature-encoder conv layer.
    public var convGeometry: [ConvGeometry] { zip(convKernel, convStride).map { ConvGeometry(kernel: $0, stride: $1) } }

    /// Frames after the conv encoder for `length` samples (transformers' `_get_feat_extract_output_lengths`).
    public func outputLength(forSamples length: Int) -> Int {
        convGeometry.reduce(length) { $1.outputLength($0) }
    }

    /// Builds a config from parsed JSON; `source` names the file in errors.
    public init(json: JSONValue, source: String) throws {
        guard json.objectMembers != nil else {
            throw ConfigError.unreadable(path: source, reason: "the top level is not a JSON object")
        }
        let reader = FieldReader(json: json, source: source)
        try reader.int(Key.vocabSize, &vocabSize)
        try reader.int(Key.hiddenSize, &hiddenSize)
        try reader.int(Key.numHiddenLayers, &numHiddenLayers)
        try reader.int(Key.numAttentionHeads, &numAttentionHeads)
        try reader.int(Key.intermediateSize, &intermediateSize)
        try reader.string(Key.hiddenAct, &hiddenAct)
        try reader.double(Key.hiddenDropout, &hiddenDropout)
        try reader.double(Key.activationDropout, &activationDropout)
        try reader.double(Key.attentionDropout, &attentionDropout)
        try reader.double(Key.featProjDropout, &featProjDropout)
        try reader.double(Key.featQuantizerDropout, &featQuantizerDropout)
        try reader.double(Key.finalDropout, &finalDropout)
        try reader.double(Key.layerdrop, &layerdrop)
        try reader.double(Key.initializerRange, &initializerRange)
        try reader.double(Key.layerNormEps, &layerNormEps)
        try reader.string(Key.featExtractNorm, &featExtractNorm)
        try reader.string(Key.featExtractActivation, &featExtractActivation)
        try reader.ints(Key.convDim, &convDim)
        try reader.ints(Key.convStride, &convStride)
        try reader.ints(Key.convKernel, &convKernel)
        try reader.bool(Key.convBias, &convBias)
        try reader.int(Key.numConvPosEmbeddings, &numConvPosEmbeddings)
        try reader.int(Key.numConvPosEmbeddingGroups, &numConvPosEmbeddingGroups)
        try reader.bool(Key.doStableLayerNorm, &doStableLayerNorm)
        try reader.bool(Key.applySpecAugment, &applySpecAugment)
        try reader.double(Key.maskTimeProb, &maskTimeProb)
        try reader.int(Key.maskTimeLength, &maskTimeLength)
        try reader.int(Key.maskTimeMinMasks, &maskTimeMinMasks)
        try reader.double(Key.maskFeatureProb, &maskFeatureProb)
        try reader.int(Key.maskFeatureLength, &maskFeatureLength)
        try reader.int(Key.maskFeatureMinMasks, &maskFeatureMinMasks)
        try reader.int(Key.numCodevectorsPerGroup, &numCodevectorsPerGroup)
        try reader.int(Key.numCodevectorGroups, &numCodevectorGroups)
        try reader.double(Key.contrastiveLogitsTemperature, &contrastiveLogitsTemperature)
        try reader.int(Key.numNegatives, &numNegatives)
        try reader.int(Key.codevectorDim, &codevectorDim)
        try reader.int(Key.projCodevectorDim, &projCodevectorDim)
        try reader.double(Key.diversityLossWeight, &diversityLossWeight)
        try reader.string(Key.ctcLossReduction, &ctcLossReduction)
        try reader.bool(Key.ctcZeroInfinity, &ctcZeroInfinity)
        try reader.bool(Key.useWeightedLayerSum, &useWeightedLayerSum)
        try reader.int(Key.classifierProjSize, &classifierProjSize)
        try reader.int(Key.numCtcClasses, &numCtcClasses)
        try reader.optionalInt(Key.padTokenId, &padTokenId)
        try reader.optionalInt(Key.bosTokenId, &bosTokenId)
        try reader.optionalInt(Key.eosTokenId, &eosTokenId)
        try reader.double(Key.replaceProb, &replaceProb)
        try reader.strings(Key.architectures, &architectures)
        try reader.labels(Key.id2label, &id2label)
        raw = json
        try validate(source: source)
    }

    /// Checks the relations between fields that the model relies on.
    public func validate(source: String) throws {
        func invalid(_ field: String, _ reason: String) -> ConfigError { .invalid(path: source, field: field, reason: reason) }
        guard !convDim.isEmpty else { throw invalid(Key.convDim, "must not be empty") }
        guard convDim.count == convStride.count, convDim.count == convKernel.count else {
            throw invalid(Key.convDim, "has \(convDim.count) entries but conv_stride has \(convStride.count) and conv_kernel \(convKernel.count); they must be equal")
        }
        for (field, values) in [(Key.convDim, convDim), (Key.convStride, convStride), (Key.convKernel, convKernel)] {
            guard values.allSatisfy({ $0 > 0 }) else { throw invalid(field, "must hold positive integers, found \(values)") }
        }
        for (field, value) in [(Key.hiddenSize, hiddenSize), (Key.numHiddenLayers, numHiddenLayers),
                               (Key.numAttentionHeads, numAttentionHeads), (Key.intermediateSize, intermediateSize),
                               (Key.numConvPosEmbeddings, numConvPosEmbeddings),
                               (Key.numConvPosEmbeddingGroups, numConvPosEmbeddingGroups)] {
            guard value > 0 else { throw invalid(field, "must be positive, found \(value)") }
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw invalid(Key.hiddenSize, "(\(hiddenSize)) must be divisible by num_attention_heads (\(numAttentionHeads))")
        }
        guard hiddenSize % numConvPosEmbeddingGroups == 0 else {
            throw invalid(Key.hiddenSize, "(\(hiddenSize)) must be divisible by num_conv_pos_embedding_groups (\(numConvPosEmbeddingGroups))")
        }
        guard ["group", "layer"].contains(featExtractNorm) else {
            throw invalid(Key.featExtractNorm, "must be 'group' or 'layer', found '\(featExtractNorm)'")
        }
        for (field, name) in [(Key.hiddenAct, hiddenAct), (Key.featExtractActivation, featExtractActivation)] {
            guard Self.supportedActivations.contains(name) else {
                throw invalid(field, "names unknown activation '\(name)' (known: \(Self.supportedActivations.sorted().joined(separator: ", ")))")
            }
        }
        guard layerNormEps > 0 else { throw invalid(Key.layerNormEps, "must be positive, found \(layerNormEps)") }
        guard numCodevectorGroups > 0, codevectorDim % numCodevectorGroups == 0 else {
            throw invalid(Key.codevectorDim, "(\(codevectorDim)) must be divisible by num_codevector_groups (\(numCodevectorGroups))")
        }
    }
}

/// Reads typed fields from a config object, leaving defaults in place when a field is absent or null.
private struct FieldReader {
    let json: JSONValue
    let source: String

    private func value(_ key: String) -> JSONValue? {
        guard let value = json[key], !value.isNull else { return nil }
        return value
    }

    func int(_ key: String, _ target: inout Int) throws {
        guard let value = value(key) else { return }
        guard let v = value.intValue else { throw ConfigError.wrongType(path: source, field: key, expected: "an integer") }
        target = v
    }

    func optionalInt(_ key: String, _ target: inout Int?) throws {
        guard let value = json[key] else { return }
        if value.isNull { target = nil; return }
        if let first = value.arrayValue?.first?.intValue { target = first; return }
        guard let v = value.intValue else { throw ConfigError.wrongType(path: source, field: key, expected: "an integer or null") }
        target = v
    }

    func double(_ key: String, _ target: inout Double) throws {
        guard let value = value(key) else { return }
        guard let v = value.doubleValue else { throw ConfigError.wrongType(path: source, field: key, expected: "a number") }
        target = v
    }

    func bool(_ key: String, _ target: inout Bool) throws {
        guard let value = value(key) else { return }
        guard let v = value.boolValue else { throw ConfigError.wrongType(path: source, field: key, expected: "true or false") }
        target = v
    }

    func string(_ key: String, _ target: inout String) throws {
        guard let value = value(key) else { return }
        guard let v = value.stringValue else { throw ConfigError.wrongType(path: source, field: key, expected: "a string") }
        target = v
    }

    func ints(_ key: String, _ target: inout [Int]) throws {
        guard let value = value(key) else { return }
        guard let items = value.arrayValue, case let v = items.compactMap(\.intValue), v.count == items.count else {
            throw ConfigError.wrongType(path: source, field: key, expected: "a list of integers")
        }
        target = v
    }

    func strings(_ key: String, _ target: inout [String]) throws {
        guard let value = value(key) else { return }
        guard let items = value.arrayValue, case let v = items.compactMap(\.stringValue), v.count == items.count else {
            throw ConfigError.wrongType(path: source, field: key, expected: "a list of strings")
        }
        target = v
    }

    func labels(_ key: String, _ target: inout [Int: String]) throws {
        guard let value = value(key) else { return }
        guard let members = value.objectMembers else {
            throw ConfigError.wrongType(path: source, field: key, expected: "an object of id -> label")
        }
        var result: [Int: String] = [:]
        for (id, label) in members {
            guard let index = Int(id), let text = label.stringValue else {
                throw ConfigError.wrongType(path: source, field: key, expected: "an object with integer keys and string labels")
            }
            result[index] = text
        }
        target = result
    }
}

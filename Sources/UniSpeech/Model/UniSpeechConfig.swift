import Foundation

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

    public init() {}

    /// Number of labels for classification: id2label's size, else `num_labels`, else 2 as in HF.
    public var numLabels: Int {
        if !id2label.isEmpty { return id2label.count }
        return raw["num_labels"]?.intValue ?? 2
    }

    /// Frames after the conv encoder for `length` samples (the conv output-length formula).
    public func outputLength(forSamples length: Int) -> Int {
        var n = length
        for (kernel, stride) in zip(convKernel, convStride) {
            n = n >= kernel ? (n - kernel) / stride + 1 : 0
        }
        return n
    }

    /// Reads and checks `config.json`.
    public static func load(path: String) throws -> UniSpeechConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse([UInt8](data), source: path)
        } catch let error as JSONError {
            guard case let .invalid(_, reason) = error else { throw error }
            throw ConfigError.unreadable(path: path, reason: "invalid JSON: \(reason)")
        }
        return try UniSpeechConfig(json: json, source: path)
    }

    /// Builds a config from parsed JSON; `source` names the file in errors.
    public init(json: JSONValue, source: String) throws {
        guard json.objectMembers != nil else {
            throw ConfigError.unreadable(path: source, reason: "the top level is not a JSON object")
        }
        let reader = FieldReader(json: json, source: source)
        try reader.int("vocab_size", &vocabSize)
        try reader.int("hidden_size", &hiddenSize)
        try reader.int("num_hidden_layers", &numHiddenLayers)
        try reader.int("num_attention_heads", &numAttentionHeads)
        try reader.int("intermediate_size", &intermediateSize)
        try reader.string("hidden_act", &hiddenAct)
        try reader.double("hidden_dropout", &hiddenDropout)
        try reader.double("activation_dropout", &activationDropout)
        try reader.double("attention_dropout", &attentionDropout)
        try reader.double("feat_proj_dropout", &featProjDropout)
        try reader.double("feat_quantizer_dropout", &featQuantizerDropout)
        try reader.double("final_dropout", &finalDropout)
        try reader.double("layerdrop", &layerdrop)
        try reader.double("initializer_range", &initializerRange)
        try reader.double("layer_norm_eps", &layerNormEps)
        try reader.string("feat_extract_norm", &featExtractNorm)
        try reader.string("feat_extract_activation", &featExtractActivation)
        try reader.ints("conv_dim", &convDim)
        try reader.ints("conv_stride", &convStride)
        try reader.ints("conv_kernel", &convKernel)
        try reader.bool("conv_bias", &convBias)
        try reader.int("num_conv_pos_embeddings", &numConvPosEmbeddings)
        try reader.int("num_conv_pos_embedding_groups", &numConvPosEmbeddingGroups)
        try reader.bool("do_stable_layer_norm", &doStableLayerNorm)
        try reader.bool("apply_spec_augment", &applySpecAugment)
        try reader.double("mask_time_prob", &maskTimeProb)
        try reader.int("mask_time_length", &maskTimeLength)
        try reader.int("mask_time_min_masks", &maskTimeMinMasks)
        try reader.double("mask_feature_prob", &maskFeatureProb)
        try reader.int("mask_feature_length", &maskFeatureLength)
        try reader.int("mask_feature_min_masks", &maskFeatureMinMasks)
        try reader.int("num_codevectors_per_group", &numCodevectorsPerGroup)
        try reader.int("num_codevector_groups", &numCodevectorGroups)
        try reader.double("contrastive_logits_temperature", &contrastiveLogitsTemperature)
        try reader.int("num_negatives", &numNegatives)
        try reader.int("codevector_dim", &codevectorDim)
        try reader.int("proj_codevector_dim", &projCodevectorDim)
        try reader.double("diversity_loss_weight", &diversityLossWeight)
        try reader.string("ctc_loss_reduction", &ctcLossReduction)
        try reader.bool("ctc_zero_infinity", &ctcZeroInfinity)
        try reader.bool("use_weighted_layer_sum", &useWeightedLayerSum)
        try reader.int("classifier_proj_size", &classifierProjSize)
        try reader.int("num_ctc_classes", &numCtcClasses)
        try reader.optionalInt("pad_token_id", &padTokenId)
        try reader.optionalInt("bos_token_id", &bosTokenId)
        try reader.optionalInt("eos_token_id", &eosTokenId)
        try reader.double("replace_prob", &replaceProb)
        try reader.strings("architectures", &architectures)
        try reader.labels("id2label", &id2label)
        raw = json
        try validate(source: source)
    }

    /// Checks the relations between fields that the model relies on.
    public func validate(source: String) throws {
        func invalid(_ field: String, _ reason: String) -> ConfigError { .invalid(path: source, field: field, reason: reason) }
        guard !convDim.isEmpty else { throw invalid("conv_dim", "must not be empty") }
        guard convDim.count == convStride.count, convDim.count == convKernel.count else {
            throw invalid("conv_dim", "has \(convDim.count) entries but conv_stride has \(convStride.count) and conv_kernel \(convKernel.count); they must be equal")
        }
        for (field, values) in [("conv_dim", convDim), ("conv_stride", convStride), ("conv_kernel", convKernel)] {
            guard values.allSatisfy({ $0 > 0 }) else { throw invalid(field, "must hold positive integers, found \(values)") }
        }
        for (field, value) in [("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
                               ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
                               ("num_conv_pos_embeddings", numConvPosEmbeddings),
                               ("num_conv_pos_embedding_groups", numConvPosEmbeddingGroups)] {
            guard value > 0 else { throw invalid(field, "must be positive, found \(value)") }
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw invalid("hidden_size", "(\(hiddenSize)) must be divisible by num_attention_heads (\(numAttentionHeads))")
        }
        guard hiddenSize % numConvPosEmbeddingGroups == 0 else {
            throw invalid("hidden_size", "(\(hiddenSize)) must be divisible by num_conv_pos_embedding_groups (\(numConvPosEmbeddingGroups))")
        }
        guard ["group", "layer"].contains(featExtractNorm) else {
            throw invalid("feat_extract_norm", "must be 'group' or 'layer', found '\(featExtractNorm)'")
        }
        for (field, name) in [("hidden_act", hiddenAct), ("feat_extract_activation", featExtractActivation)] {
            guard Self.supportedActivations.contains(name) else {
                throw invalid(field, "names unknown activation '\(name)' (known: \(Self.supportedActivations.sorted().joined(separator: ", ")))")
            }
        }
        guard layerNormEps > 0 else { throw invalid("layer_norm_eps", "must be positive, found \(layerNormEps)") }
        guard numCodevectorGroups > 0, codevectorDim % numCodevectorGroups == 0 else {
            throw invalid("codevector_dim", "(\(codevectorDim)) must be divisible by num_codevector_groups (\(numCodevectorGroups))")
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

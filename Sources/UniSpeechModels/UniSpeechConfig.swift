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

/// Every field of the family's transformers configs (UniSpeechConfig, Wav2Vec2Config, HubertConfig,
/// UniSpeechSatConfig, WavLMConfig, Data2VecAudioConfig) under one roof, with each family's HF default when a field
/// is absent. `model_type` picks the family; a field the family's config does not have is not read.
public struct UniSpeechConfig: Sendable, Equatable {
    /// The family, from `model_type` (else the family of `architectures[0]`, else UniSpeech).
    public var family = ModelFamily.unispeech
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
    /// HuBERT: LayerNorm before the feature projection (the other families always have it).
    public var featProjLayerNorm = true
    /// HuBERT: BatchNorm before a plain (not weight-normed) positional conv.
    public var convPosBatchNorm = false
    /// Wav2Vec2, WavLM, Data2VecAudio: the conv adapter after the encoder.
    public var addAdapter = false
    public var adapterKernelSize = 3
    public var adapterStride = 2
    public var numAdapterLayers = 3
    /// The conv adapter's width; nil (absent or null) means hidden_size.
    public var outputHiddenSize: Int?
    /// MMS attention adapters' inner width in pre-LN layers, nil for none.
    public var adapterAttnDim: Int?
    /// X-vector head: TDNN widths, kernels, dilations, and the embedding width.
    public var tdnnDim = [512, 512, 512, 512, 1500]
    public var tdnnKernel = [5, 3, 3, 1, 1]
    public var tdnnDilation = [1, 2, 3, 1, 1]
    public var xvectorOutputDim = 512
    /// UniSpeechSat pretraining's label embeddings (never run in eval).
    public var numClusters = 504
    /// WavLM: relative position buckets and the distance the largest bucket starts at.
    public var numBuckets = 320
    public var maxBucketDistance = 800
    /// Data2VecAudio: the kernel of each positional conv layer (`num_conv_pos_embeddings` counts the layers).
    public var convPosKernelSize = 19
    /// `architectures[0]` when present, e.g. "UniSpeechForCTC".
    public var architectures: [String] = []
    /// Class labels by id (from `id2label`; keys are decimal strings in the JSON).
    public var id2label: [Int: String] = [:]
    /// The config as read, kept whole so a native file can carry it unchanged.
    public var raw: JSONValue = .object([])
    /// Where the config was read from, for errors found after reading (e.g. against the weights).
    public var source = "config.json"

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
        public static let modelType = "model_type"
        public static let featProjLayerNorm = "feat_proj_layer_norm"
        public static let convPosBatchNorm = "conv_pos_batch_norm"
        public static let addAdapter = "add_adapter"
        public static let adapterKernelSize = "adapter_kernel_size"
        public static let adapterStride = "adapter_stride"
        public static let numAdapterLayers = "num_adapter_layers"
        public static let outputHiddenSize = "output_hidden_size"
        public static let adapterAttnDim = "adapter_attn_dim"
        public static let tdnnDim = "tdnn_dim"
        public static let tdnnKernel = "tdnn_kernel"
        public static let tdnnDilation = "tdnn_dilation"
        public static let xvectorOutputDim = "xvector_output_dim"
        public static let numClusters = "num_clusters"
        public static let numBuckets = "num_buckets"
        public static let maxBucketDistance = "max_bucket_distance"
        public static let convPosKernelSize = "conv_pos_kernel_size"
        public static let architectures = "architectures"
        public static let id2label = "id2label"
        public static let numLabels = "num_labels"
    }

    public init() {}

    /// The HF defaults of `family`'s config.
    public init(family: ModelFamily) {
        self.family = family
        switch family {
        case .wav2vec2, .hubert:
            ctcLossReduction = "sum"
        case .data2vecAudio:
            ctcLossReduction = "sum"
            numConvPosEmbeddings = 5
            featExtractNorm = "layer"
        case .unispeech, .unispeechSat, .wavlm:
            break
        }
    }

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

    /// transformers' `_get_feat_extract_output_lengths` with the config's `add_adapter`: the conv stack, then each
    /// adapter layer counted as a conv of kernel 1 and stride `adapter_stride` (the adapter's real output length
    /// agrees only for `adapter_kernel_size` 3). The x-vector pooling lengths and CTC lengths come from it.
    public func adaptedOutputLength(forSamples length: Int) -> Int {
        var frames = outputLength(forSamples: length)
        guard hasConvAdapter else { return frames }
        let layer = ConvGeometry(kernel: 1, stride: adapterStride)
        var remaining = numAdapterLayers
        while remaining > 0 && frames > 1 {  // one frame stays one frame
            frames = layer.outputLength(frames)
            remaining -= 1
        }
        return frames
    }

    /// Builds a config from parsed JSON; `source` names the file in errors.
    public init(json: JSONValue, source: String) throws {
        guard json.objectMembers != nil else {
            throw ConfigError.unreadable(path: source, reason: "the top level is not a JSON object")
        }
        let reader = FieldReader(json: json, source: source)
        var architectures: [String] = []
        try reader.strings(Key.architectures, &architectures)
        var modelType: String?
        try reader.optionalString(Key.modelType, &modelType)
        let family: ModelFamily
        if let modelType {
            guard let named = ModelFamily(rawValue: modelType) else {
                throw ConfigError.invalid(path: source, field: Key.modelType, reason: "names '\(modelType)', not one of "
                                          + ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))
            }
            family = named
        } else {
            family = architectures.first.flatMap(ModelFamily.owning(architecture:)) ?? .unispeech
        }
        self.init(family: family)
        self.architectures = architectures
        // The families whose transformers config declares the quantizer's fields (HuBERT's and Data2VecAudio's do not).
        let quantizerFamilies: Set<ModelFamily> = [.unispeech, .wav2vec2, .unispeechSat, .wavlm]

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
        try reader.double(Key.finalDropout, &finalDropout)
        try reader.double(Key.layerdrop, &layerdrop)
        try reader.double(Key.initializerRange, &initializerRange)
        try reader.double(Key.layerNormEps, &layerNormEps)
        try reader.string(Key.featExtractActivation, &featExtractActivation)
        try reader.ints(Key.convDim, &convDim)
        try reader.ints(Key.convStride, &convStride)
        try reader.ints(Key.convKernel, &convKernel)
        try reader.bool(Key.convBias, &convBias)
        try reader.int(Key.numConvPosEmbeddings, &numConvPosEmbeddings)
        try reader.int(Key.numConvPosEmbeddingGroups, &numConvPosEmbeddingGroups)
        try reader.double(Key.maskTimeProb, &maskTimeProb)
        try reader.int(Key.maskTimeLength, &maskTimeLength)
        try reader.int(Key.maskTimeMinMasks, &maskTimeMinMasks)
        try reader.double(Key.maskFeatureProb, &maskFeatureProb)
        try reader.int(Key.maskFeatureLength, &maskFeatureLength)
        try reader.string(Key.ctcLossReduction, &ctcLossReduction)
        try reader.bool(Key.ctcZeroInfinity, &ctcZeroInfinity)
        try reader.bool(Key.useWeightedLayerSum, &useWeightedLayerSum)
        try reader.int(Key.classifierProjSize, &classifierProjSize)
        try reader.optionalInt(Key.padTokenId, &padTokenId)
        try reader.optionalInt(Key.bosTokenId, &bosTokenId)
        try reader.optionalInt(Key.eosTokenId, &eosTokenId)
        try reader.labels(Key.id2label, &id2label)
        // Data2VecAudioConfig has neither field: its graph is LayerNorm convs and a post-LN encoder whatever a
        // config.json says.
        if family.hasNormChoice {
            try reader.string(Key.featExtractNorm, &featExtractNorm)
            try reader.bool(Key.doStableLayerNorm, &doStableLayerNorm)
            try reader.bool(Key.applySpecAugment, &applySpecAugment)
        }
        if family != .wavlm { try reader.int(Key.maskFeatureMinMasks, &maskFeatureMinMasks) }
        if [.unispeech, .wav2vec2, .unispeechSat].contains(family) { try reader.double(Key.featQuantizerDropout, &featQuantizerDropout) }
        if quantizerFamilies.contains(family) {
            try reader.int(Key.numCodevectorsPerGroup, &numCodevectorsPerGroup)
            try reader.int(Key.numCodevectorGroups, &numCodevectorGroups)
            try reader.double(Key.contrastiveLogitsTemperature, &contrastiveLogitsTemperature)
            try reader.int(Key.numNegatives, &numNegatives)
            try reader.int(Key.codevectorDim, &codevectorDim)
            try reader.int(Key.projCodevectorDim, &projCodevectorDim)
            try reader.double(Key.diversityLossWeight, &diversityLossWeight)
        }
        if family == .unispeech {
            try reader.int(Key.numCtcClasses, &numCtcClasses)
            try reader.double(Key.replaceProb, &replaceProb)
        }
        if family == .hubert {
            try reader.bool(Key.featProjLayerNorm, &featProjLayerNorm)
            try reader.bool(Key.convPosBatchNorm, &convPosBatchNorm)
        }
        if family.hasConvAdapter {
            try reader.bool(Key.addAdapter, &addAdapter)
            try reader.int(Key.adapterKernelSize, &adapterKernelSize)
            try reader.int(Key.adapterStride, &adapterStride)
            try reader.int(Key.numAdapterLayers, &numAdapterLayers)
            try reader.optionalInt(Key.outputHiddenSize, &outputHiddenSize)
        }
        if family.hasAttentionAdapters { try reader.optionalInt(Key.adapterAttnDim, &adapterAttnDim) }
        if family.heads.contains(.xvector) {
            try reader.ints(Key.tdnnDim, &tdnnDim)
            try reader.ints(Key.tdnnKernel, &tdnnKernel)
            try reader.ints(Key.tdnnDilation, &tdnnDilation)
            try reader.int(Key.xvectorOutputDim, &xvectorOutputDim)
        }
        if family == .unispeechSat { try reader.int(Key.numClusters, &numClusters) }
        if family == .wavlm {
            try reader.int(Key.numBuckets, &numBuckets)
            try reader.int(Key.maxBucketDistance, &maxBucketDistance)
        }
        if family == .data2vecAudio { try reader.int(Key.convPosKernelSize, &convPosKernelSize) }
        raw = json
        self.source = source
        try validate(source: source)
    }

    /// torch's default epsilon, used by the norms built without `layer_norm_eps`: the conv layers' GroupNorm /
    /// LayerNorm, the adapters' norms, Data2VecAudio's positional LayerNorm, HuBERT's positional BatchNorm.
    public static let torchNormEpsilon = 1e-5

    /// The largest count or size a config may give: products of two of them cannot overflow.
    public static let largestSize = Int(Int32.max)

    /// The conv adapter's output width (`output_hidden_size`, else hidden_size).
    public var adapterOutputSize: Int { outputHiddenSize ?? hiddenSize }

    /// Whether the conv adapter runs after the encoder.
    public var hasConvAdapter: Bool { family.hasConvAdapter && addAdapter }

    /// Whether pre-LN layers carry MMS attention adapters.
    public var hasAttentionAdapters: Bool { family.hasAttentionAdapters && doStableLayerNorm && adapterAttnDim != nil }

    /// Checks each field the graph reads on its own and the relations between them, before anything is sized from
    /// them (the counts are checked against the weights by `checkCounts`).
    public func validate(source: String) throws {
        func invalid(_ field: String, _ reason: String) -> ConfigError { .invalid(path: source, field: field, reason: reason) }
        func checkSize(_ field: String, _ value: Int, minimum: Int = 1) throws {
            guard value >= minimum && value <= Self.largestSize else {
                throw invalid(field, "must be \(minimum == 1 ? "positive" : "at least \(minimum)") and at most \(Self.largestSize), found \(value)")
            }
        }
        try Self.checkList(Key.convDim, convDim, invalid)
        guard convDim.count == convStride.count, convDim.count == convKernel.count else {
            throw invalid(Key.convDim, "has \(convDim.count) entries but conv_stride has \(convStride.count) and conv_kernel \(convKernel.count); they must be equal")
        }
        try Self.checkList(Key.convStride, convStride, invalid)
        try Self.checkList(Key.convKernel, convKernel, invalid)
        guard convStride.reduce(1, { $0 <= Self.largestSize / $1 ? $0 * $1 : Self.largestSize + 1 }) <= Self.largestSize else {
            throw invalid(Key.convStride, "gives more than \(Self.largestSize) samples per frame (the product of the strides)")
        }
        for (field, value) in [(Key.hiddenSize, hiddenSize), (Key.numHiddenLayers, numHiddenLayers),
                               (Key.numAttentionHeads, numAttentionHeads), (Key.intermediateSize, intermediateSize),
                               (Key.numConvPosEmbeddings, numConvPosEmbeddings),
                               (Key.numConvPosEmbeddingGroups, numConvPosEmbeddingGroups), (Key.vocabSize, vocabSize),
                               (Key.classifierProjSize, classifierProjSize), (Key.numLabels, numLabels)] {
            try checkSize(field, value)
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
        if family.pretrainingQuantizes {
            for (field, value) in [(Key.numCodevectorGroups, numCodevectorGroups), (Key.numCodevectorsPerGroup, numCodevectorsPerGroup),
                                   (Key.codevectorDim, codevectorDim), (Key.projCodevectorDim, projCodevectorDim)] {
                try checkSize(field, value)
            }
            guard codevectorDim % numCodevectorGroups == 0 else {
                throw invalid(Key.codevectorDim, "(\(codevectorDim)) must be divisible by num_codevector_groups (\(numCodevectorGroups))")
            }
        }
        if family == .data2vecAudio { try checkSize(Key.convPosKernelSize, convPosKernelSize) }
        if hasConvAdapter {
            try checkSize(Key.adapterKernelSize, adapterKernelSize)
            try checkSize(Key.adapterStride, adapterStride)
            try checkSize(Key.numAdapterLayers, numAdapterLayers, minimum: 0)
            try checkSize(Key.outputHiddenSize, adapterOutputSize)
        }
        if hasAttentionAdapters, let adapterAttnDim { try checkSize(Key.adapterAttnDim, adapterAttnDim) }
        if family == .wavlm {
            // Half the buckets per direction and half of those exact: fewer than 4 leaves no exact bucket, and the
            // log-spaced buckets need max_bucket_distance beyond the exact ones (transformers fails otherwise).
            try checkSize(Key.numBuckets, numBuckets, minimum: 4)
            try checkSize(Key.maxBucketDistance, maxBucketDistance, minimum: numBuckets / 4 + 1)
        }
    }

    /// Checks that the counts in the config are no more than the weights (canonical `names`) hold, and the fields of
    /// `heads`, before the model sizes anything from them; an error names the config file and the field. (Weights
    /// beyond a count are left unread, so the strict loader names them.)
    public func checkCounts(against names: [String], heads: Set<ModelHead>) throws {
        func invalid(_ field: String, _ reason: String) -> ConfigError { .invalid(path: source, field: field, reason: reason) }
        /// `value` counts modules `prefix<i>.`; `entries` when the field is a list (one entry per module).
        func check(_ field: String, _ value: Int, counting prefix: String, what: String, entries: Bool = false) throws {
            let found = Self.indexCount(names, prefix: prefix)
            guard value <= found else {
                throw invalid(field, "\(entries ? "has \(value) entries" : "is \(value)") but the weights hold \(found) \(what) (\(prefix)N)")
            }
        }
        if let other = ModelFamily.owning(tensorNames: names), other != family {  // names keep another family's prefix
            throw invalid(Key.modelType, "is '\(family.rawValue)' but the weights are named for \(other.rawValue) ('\(other.baseModelPrefix).' prefix)")
        }
        if hasConvAdapter, let head = heads.first(where: { $0 == .classification || $0 == .frameClassification }) {
            throw invalid(Key.addAdapter, "must be false for the \(head.rawValue) head (transformers refuses the adapter there)")
        }
        try check(Key.numHiddenLayers, numHiddenLayers, counting: "encoder.layers.", what: "encoder layers")
        try check(Key.convDim, convDim.count, counting: "feature_extractor.conv_layers.", what: "feature-encoder conv layers",
                  entries: true)
        if family == .data2vecAudio {
            try check(Key.numConvPosEmbeddings, numConvPosEmbeddings, counting: "encoder.pos_conv_embed.layers.", what: "positional conv layers")
        }
        if hasConvAdapter {
            try check(Key.numAdapterLayers, numAdapterLayers, counting: "adapter.layers.", what: "adapter conv layers")
        }
        if heads.contains(.xvector) {
            try Self.checkList(Key.tdnnDim, tdnnDim, invalid)
            guard tdnnKernel.count == tdnnDim.count, tdnnDilation.count == tdnnDim.count else {
                throw invalid(Key.tdnnDim, "has \(tdnnDim.count) entries but tdnn_kernel has \(tdnnKernel.count) and tdnn_dilation \(tdnnDilation.count); they must be equal")
            }
            try Self.checkList(Key.tdnnKernel, tdnnKernel, invalid)
            try Self.checkList(Key.tdnnDilation, tdnnDilation, invalid)
            guard xvectorOutputDim > 0 && xvectorOutputDim <= Self.largestSize else {
                throw invalid(Key.xvectorOutputDim, "must be positive and at most \(Self.largestSize), found \(xvectorOutputDim)")
            }
            try check(Key.tdnnDim, tdnnDim.count, counting: "tdnn.", what: "TDNN layers", entries: true)
        }
    }

    /// Fails unless `values` is a non-empty list of positive sizes.
    private static func checkList(_ field: String, _ values: [Int], _ invalid: (String, String) -> ConfigError) throws {
        guard !values.isEmpty else { throw invalid(field, "must not be empty") }
        guard values.allSatisfy({ $0 > 0 && $0 <= Self.largestSize }) else {
            throw invalid(field, "must hold positive integers of at most \(Self.largestSize), found \(values)")
        }
    }

    /// How many indexed modules `prefix<i>.` the names hold: one more than the largest index (0 for none).
    static func indexCount(_ names: [String], prefix: String) -> Int {
        var largest = -1
        for name in names where name.hasPrefix(prefix) {
            let index = name.dropFirst(prefix.count).prefix { $0 != "." }
            if let value = Int(index), value >= 0, value < Int.max { largest = max(largest, value) }  // Int.max + 1 would overflow
        }
        return largest + 1
    }
}

/// Reads typed fields from a config object, leaving defaults in place when a field is absent or null.
struct FieldReader {
    let json: JSONValue
    let source: String

    private func value(_ key: String) -> JSONValue? {
        guard let value = json[key], !value.isNull else { return nil }
        return value
    }

    /// Sets `target` to `key`'s value as `extract` reads it, when present and not null; a value `extract` cannot read
    /// is an error that says what was `expected`.
    private func read<T>(_ key: String, _ target: inout T, expected: String, _ extract: (JSONValue) -> T?) throws {
        guard let value = value(key) else { return }
        guard let v = extract(value) else { throw ConfigError.wrongType(path: source, field: key, expected: expected) }
        target = v
    }

    /// A list whose every item `extract` reads.
    private static func list<T>(_ value: JSONValue, _ extract: (JSONValue) -> T?) -> [T]? {
        guard let items = value.arrayValue, case let v = items.compactMap(extract), v.count == items.count else { return nil }
        return v
    }

    func int(_ key: String, _ target: inout Int) throws { try read(key, &target, expected: "an integer", \.intValue) }

    func optionalInt(_ key: String, _ target: inout Int?) throws {
        guard let value = json[key] else { return }
        if value.isNull { target = nil; return }
        if let first = value.arrayValue?.first?.intValue { target = first; return }
        guard let v = value.intValue else { throw ConfigError.wrongType(path: source, field: key, expected: "an integer or null") }
        target = v
    }

    func optionalString(_ key: String, _ target: inout String?) throws {
        try read(key, &target, expected: "a string") { $0.stringValue.map(Optional.some) }  // nil: not a string
    }

    func double(_ key: String, _ target: inout Double) throws { try read(key, &target, expected: "a number", \.doubleValue) }

    func bool(_ key: String, _ target: inout Bool) throws { try read(key, &target, expected: "true or false", \.boolValue) }

    func string(_ key: String, _ target: inout String) throws { try read(key, &target, expected: "a string", \.stringValue) }

    func ints(_ key: String, _ target: inout [Int]) throws {
        try read(key, &target, expected: "a list of integers") { Self.list($0, \.intValue) }
    }

    func strings(_ key: String, _ target: inout [String]) throws {
        try read(key, &target, expected: "a list of strings") { Self.list($0, \.stringValue) }
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

import Foundation

/// Everything a model file gives: config, preprocessing, weights with canonical names, tokenizer sidecars.
public struct ModelBundle: Sendable {
    public var config: UniSpeechConfig
    public var featureExtractor: FeatureExtractorConfig
    /// Weights by canonical name (see `KeyMap`).
    public var weights: any TensorSource
    public var vocabulary: JSONValue?
    public var tokenizerConfig: JSONValue?
    public var specialTokens: JSONValue?
    /// What was opened, for messages ("a HF directory at ...").
    public var description: String

    public init(config: UniSpeechConfig, featureExtractor: FeatureExtractorConfig, weights: any TensorSource,
                vocabulary: JSONValue? = nil, tokenizerConfig: JSONValue? = nil, specialTokens: JSONValue? = nil,
                description: String) {
        self.config = config
        self.featureExtractor = featureExtractor
        self.weights = weights
        self.vocabulary = vocabulary
        self.tokenizerConfig = tokenizerConfig
        self.specialTokens = specialTokens
        self.description = description
    }

    /// Opens a model: a HF checkpoint directory or a .unispeech file.
    public static func open(path: String) throws -> ModelBundle {
        if NativeFormat.isNativePath(path) { return try openNative(path: path) }
        let checkpoint = try HFCheckpoint.open(directory: path)
        return ModelBundle(
            config: checkpoint.config, featureExtractor: FeatureExtractorConfig(json: checkpoint.preprocessorConfig),
            weights: checkpoint.weights, vocabulary: checkpoint.vocabulary, tokenizerConfig: checkpoint.tokenizerConfig,
            specialTokens: checkpoint.specialTokens, description: "HF directory \(checkpoint.directory)")
    }

    /// Opens a .unispeech file; its f16 and i8 (+ scale) tensors go to the loader as stored.
    static func openNative(path: String) throws -> ModelBundle {
        let reader = try NativeReader(path: path)
        let header = reader.header
        return ModelBundle(
            config: reader.config, featureExtractor: FeatureExtractorConfig(json: header.preprocessorConfig),
            weights: reader, vocabulary: header.vocabulary, tokenizerConfig: header.tokenizerConfig,
            specialTokens: header.specialTokens, description: "native file \(path) (\(header.weightFormat.rawValue))")
    }
}

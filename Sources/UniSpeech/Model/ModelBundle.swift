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

    /// Opens a model: a HF checkpoint directory.
    public static func open(path: String) throws -> ModelBundle {
        let checkpoint = try HFCheckpoint.open(directory: path)
        return ModelBundle(
            config: checkpoint.config, featureExtractor: FeatureExtractorConfig(json: checkpoint.preprocessorConfig),
            weights: checkpoint.weights, vocabulary: checkpoint.vocabulary, tokenizerConfig: checkpoint.tokenizerConfig,
            specialTokens: checkpoint.specialTokens, description: "HF directory \(checkpoint.directory)")
    }
}

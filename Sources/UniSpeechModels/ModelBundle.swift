import Foundation
import UniSpeechCore

/// Everything a model file gives: config, preprocessing, weights with canonical names, tokenizer sidecars, and the
/// language adapter loaded, if any.
public struct ModelBundle: Sendable {
    public var config: UniSpeechConfig
    public var featureExtractor: FeatureExtractorConfig
    /// Weights by canonical name (see `KeyMap`).
    public var weights: any TensorSource
    /// preprocessor_config.json and the tokenizer files, as read.
    public var sidecars: ModelSidecars
    /// What was opened, for messages ("HF directory ...").
    public var description: String
    /// The MMS language whose adapter the weights hold, when one was loaded (`LanguageAdapter`) or built in.
    public var targetLanguage: String?

    /// Checks the sidecars' preprocessor config; `preprocessorSource` names it in errors.
    public init(config: UniSpeechConfig, weights: any TensorSource, sidecars: ModelSidecars, description: String,
                preprocessorSource: String) throws {
        self.config = config
        featureExtractor = try FeatureExtractorConfig(json: sidecars.preprocessorConfig, source: preprocessorSource)
        self.weights = weights
        self.sidecars = sidecars
        self.description = description
    }

    /// The CTC tokenizer of the bundle's vocabulary, or nil without vocab.json.
    public func tokenizer() throws -> CTCTokenizer? {
        guard sidecars.vocabulary != nil else { return nil }
        return try CTCTokenizer(vocabulary: sidecars.vocabulary, tokenizerConfig: sidecars.tokenizerConfig,
                                specialTokensMap: sidecars.specialTokens, source: description)
    }
}

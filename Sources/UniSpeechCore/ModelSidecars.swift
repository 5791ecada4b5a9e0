/// The JSON files beside a model's weights that shape its input and output: the feature extractor's settings
/// and the tokenizer. A HF directory holds them as files; a native file carries them in its header.
public struct ModelSidecars: Sendable, Equatable {
    /// Each sidecar by its file name in a HF directory.
    public enum File: String, CaseIterable, Sendable {
        case preprocessorConfig = "preprocessor_config.json"
        case vocabulary = "vocab.json"
        case tokenizerConfig = "tokenizer_config.json"
        case specialTokens = "special_tokens_map.json"
    }

    private var contents: [File: JSONValue]

    public init(_ contents: [File: JSONValue] = [:]) { self.contents = contents }

    /// The parsed file, when present.
    public subscript(file: File) -> JSONValue? {
        get { contents[file] }
        set { contents[file] = newValue }
    }

    /// The files present, in `File.allCases` order.
    public var present: [File] { File.allCases.filter { contents[$0] != nil } }

    public var preprocessorConfig: JSONValue? { self[.preprocessorConfig] }
    public var vocabulary: JSONValue? { self[.vocabulary] }
    public var tokenizerConfig: JSONValue? { self[.tokenizerConfig] }
    public var specialTokens: JSONValue? { self[.specialTokens] }
}

import Foundation
import UniSpeechCore

/// Why a language adapter could not be applied.
public enum LanguageAdapterError: LocalizedError, Equatable {
    case invalidLanguage(language: String)
    case notSupported(model: String, family: String)
    case noAdapterLayers(path: String)
    case noAdapterFile(directory: String, language: String, tried: [String])
    case unexpectedTensors(file: String, names: [String])
    case missingTensors(file: String, names: [String])
    case builtInLanguage(path: String, builtIn: String?, asked: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidLanguage(language):
            return "--target-lang '\(language)' is not a language id (letters, digits, '-' and '_' only)"
        case let .notSupported(model, family):
            return "\(model): --target-lang loads MMS attention adapters, which only Wav2Vec2 models have (this one is \(family))"
        case let .noAdapterLayers(path):
            return "\(path): the model has no attention adapters to load a language into (adapter_attn_dim is not set, or the layers are post-LN)"
        case let .noAdapterFile(directory, language, tried):
            return "\(directory): no adapter for language '\(language)' (tried \(tried.joined(separator: ", ")))"
        case let .unexpectedTensors(file, names):
            return "\(file): unexpected tensor\(names.count == 1 ? "" : "s") \(names.map { "'\($0)'" }.joined(separator: ", ")) (not an attention adapter or lm_head of this model)"
        case let .missingTensors(file, names):
            return "\(file): tensor\(names.count == 1 ? "" : "s") \(names.map { "'\($0)'" }.joined(separator: ", ")) missing from the adapter"
        case let .builtInLanguage(path, builtIn, asked):
            return "\(path): " + (builtIn.map { "has language '\($0)' built in" } ?? "has no language adapter built in")
                + "; convert the HF directory again with --target-lang \(asked)"
        }
    }
}

/// MMS language adapters as transformers' `Wav2Vec2PreTrainedModel.load_adapter(target_lang)` loads them: the file
/// `adapter.<lang>.safetensors` (else `.bin`) beside the weights replaces every attention adapter layer and, for a CTC
/// model, `lm_head` (whose rows, the file's vocabulary, then set `vocab_size`). Any other tensor in the file, or one
/// of those missing, is an error.
public enum LanguageAdapter {
    /// `tokenizer_config.json`'s field naming the language of a vocabulary nested by language.
    public static let tokenizerLanguageKey = "target_lang"

    /// The files tried for `language`, in order.
    public static func fileNames(language: String) throws -> [String] {
        guard !language.isEmpty, language.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw LanguageAdapterError.invalidLanguage(language: language)
        }
        return ["adapter.\(language).safetensors", "adapter.\(language).bin"]
    }

    /// Fails unless the bundle's model can take a language adapter.
    public static func checkSupported(_ bundle: ModelBundle) throws {
        guard bundle.config.family == .wav2vec2 else {
            throw LanguageAdapterError.notSupported(model: bundle.description, family: bundle.config.family.rawValue)
        }
        guard bundle.config.hasAttentionAdapters else { throw LanguageAdapterError.noAdapterLayers(path: bundle.config.source) }
    }

    /// The bundle with the adapter `file`'s tensors (under canonical names) in place of its own, `vocab_size` from the
    /// file's `lm_head`, and the tokenizer set to `language` when its vocabulary is nested by language.
    public static func apply(_ adapter: any TensorSource, file: String, language: String, to bundle: ModelBundle) throws -> ModelBundle {
        try checkSupported(bundle)
        let own = Set(bundle.weights.tensors.map(\.name).filter(isAdapterTensor))
        let given = Set(adapter.tensors.map(\.name))
        let unexpected = given.subtracting(own).sorted()
        guard unexpected.isEmpty else { throw LanguageAdapterError.unexpectedTensors(file: file, names: unexpected) }
        let missing = own.subtracting(given).sorted()
        guard missing.isEmpty else { throw LanguageAdapterError.missingTensors(file: file, names: missing) }
        var result = bundle
        result.weights = OverlaidTensorSource(base: bundle.weights, overlay: adapter, overlayDescription: file)
        if let rows = adapter.info(Self.ctcWeight)?.shape.first, rows != bundle.config.vocabSize {
            result.config.vocabSize = rows
            result.config.raw = result.config.raw.setting(UniSpeechConfig.Key.vocabSize, to: .int(Int64(rows)))
        }
        if let vocabulary = bundle.sidecars.vocabulary, vocabulary[language]?.objectMembers != nil {
            let settings = bundle.sidecars.tokenizerConfig ?? .object([])
            result.sidecars[.tokenizerConfig] = settings.setting(tokenizerLanguageKey, to: .string(language))
        }
        result.targetLanguage = language
        result.description += " with adapter.\(language)"
        return result
    }

    /// `lm_head.weight`: its rows give the adapter's vocabulary size.
    static let ctcWeight = "lm_head.weight"

    /// Whether a canonical name belongs to what `load_adapter` replaces.
    static func isAdapterTensor(_ name: String) -> Bool {
        name.hasPrefix("lm_head.") || (name.hasPrefix("encoder.layers.") && name.contains(".adapter_layer."))
    }
}

/// A source whose tensors of `overlay` replace those of the same name in `base`.
public struct OverlaidTensorSource: TensorSource {
    public let base: any TensorSource
    public let overlay: any TensorSource
    public let tensors: [TensorInfo]
    private let replaced: Set<String>
    private let overlayDescription: String

    public var sourceDescription: String { base.sourceDescription + " + " + overlayDescription }

    public init(base: any TensorSource, overlay: any TensorSource, overlayDescription: String) {
        self.base = base
        self.overlay = overlay
        self.overlayDescription = overlayDescription
        let replacements = Dictionary(overlay.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        replaced = Set(replacements.keys)
        tensors = base.tensors.map { replacements[$0.name] ?? $0 }
    }

    public func bytes(of name: String) throws -> TensorBytes {
        try replaced.contains(name) ? overlay.bytes(of: name) : base.bytes(of: name)
    }
}

extension JSONValue {
    /// This object with `key` set to `value` (replaced in place, else appended); other values are returned unchanged.
    func setting(_ key: String, to value: JSONValue) -> JSONValue {
        guard var members = objectMembers else { return self }
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append((key, value))
        }
        return .object(members)
    }
}

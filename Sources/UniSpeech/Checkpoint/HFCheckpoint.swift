import Foundation

/// Why a HF checkpoint directory could not be opened.
public enum CheckpointError: LocalizedError, Equatable {
    case notFound(path: String)
    case noWeights(directory: String)
    case badSidecar(path: String, reason: String)
    case unknownWeightFile(path: String)

    public var errorDescription: String? {
        switch self {
        case let .notFound(path): return "\(path): no such file or directory"
        case let .noWeights(directory):
            return "\(directory): no weights found (expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json)"
        case let .badSidecar(path, reason): return "\(path): \(reason)"
        case let .unknownWeightFile(path):
            return "\(path): not a weight file this tool reads (expected .safetensors, .bin / .pt / .pth, or a *.index.json shard index)"
        }
    }
}

/// A HF model directory: config, weights and the optional preprocessor and tokenizer files.
public struct HFCheckpoint: Sendable {
    public let directory: String
    public let config: UniSpeechConfig
    /// The weights with canonical names (see `KeyMap`).
    public let weights: CanonicalTensorSource
    /// The weight files read, relative to `directory`.
    public let weightFiles: [String]
    /// How the weights are stored.
    public let weightLayout: WeightLayout
    /// preprocessor_config.json, when present.
    public let preprocessorConfig: JSONValue?
    /// vocab.json, when present.
    public let vocabulary: JSONValue?
    /// tokenizer_config.json, when present.
    public let tokenizerConfig: JSONValue?
    /// special_tokens_map.json, when present.
    public let specialTokens: JSONValue?

    /// Opens a HF directory.
    public static func open(directory: String) throws -> HFCheckpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: directory)
        }
        guard isDirectory.boolValue else { throw CheckpointError.noWeights(directory: directory) }
        let config = try UniSpeechConfig.load(path: directory + "/config.json")
        let stored = try StoredWeights.open(directory: directory)
        return HFCheckpoint(
            directory: directory, config: config, weights: try CanonicalTensorSource(stored.source),
            weightFiles: stored.files, weightLayout: stored.layout,
            preprocessorConfig: try sidecar(directory, "preprocessor_config.json"),
            vocabulary: try sidecar(directory, "vocab.json"),
            tokenizerConfig: try sidecar(directory, "tokenizer_config.json"),
            specialTokens: try sidecar(directory, "special_tokens_map.json"))
    }

    private static func sidecar(_ directory: String, _ name: String) throws -> JSONValue? {
        let path = directory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONValue.parse([UInt8](data), source: path)
        } catch let error as JSONError {
            guard case let .invalid(_, reason) = error else { throw error }
            throw CheckpointError.badSidecar(path: path, reason: "invalid JSON (\(reason))")
        }
    }
}

import Foundation
import UniSpeechCore

/// Why a HF checkpoint directory could not be opened.
public enum CheckpointError: LocalizedError, Equatable {
    case notFound(path: String)
    case noWeights(directory: String)
    case badSidecar(path: String, reason: String)
    case unreadableConfig(path: String, reason: String)
    case unknownWeightFile(path: String)

    public var errorDescription: String? {
        switch self {
        case let .notFound(path): return "\(path): no such file or directory"
        case let .noWeights(directory):
            return "\(directory): no weights found (expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json)"
        case let .badSidecar(path, reason): return "\(path): \(reason)"
        case let .unreadableConfig(path, reason): return "\(path): cannot read config (\(reason))"
        case let .unknownWeightFile(path):
            return "\(path): not a weight file this tool reads (expected .safetensors, .bin / .pt / .pth, or a *.index.json shard index)"
        }
    }
}

/// A HF model directory: config.json, the weights under their stored names, and the sidecar files present.
/// What the config means is the model's business; this reads the files.
public struct HFCheckpoint: Sendable {
    /// The config file's name in a HF directory.
    public static let configFile = "config.json"

    public let directory: String
    /// config.json, parsed (not yet checked as a model config).
    public let config: JSONValue
    /// The weights with their stored (HF) names, the layout and the files read.
    public let weights: StoredWeights
    /// preprocessor_config.json, vocab.json, tokenizer_config.json, special_tokens_map.json when present.
    public let sidecars: ModelSidecars

    /// The config path, for messages.
    public var configPath: String { directory + "/" + Self.configFile }

    /// Every file read, relative to `directory`: config, sidecars, then the weight files.
    public var files: [String] { [Self.configFile] + sidecars.present.map(\.rawValue) + weights.files }

    /// Opens a HF directory.
    public static func open(directory: String) throws -> HFCheckpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: directory)
        }
        guard isDirectory.boolValue else { throw CheckpointError.noWeights(directory: directory) }
        let config = try readConfig(directory + "/" + configFile)
        let weights = try StoredWeights.open(directory: directory)
        var sidecars = ModelSidecars()
        for file in ModelSidecars.File.allCases { sidecars[file] = try readSidecar(directory + "/" + file.rawValue) }
        return HFCheckpoint(directory: directory, config: config, weights: weights, sidecars: sidecars)
    }

    /// config.json at `path`, parsed.
    public static func readConfig(_ path: String) throws -> JSONValue {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CheckpointError.unreadableConfig(path: path, reason: (error as NSError).localizedDescription)
        }
        do {
            return try JSONValue.parse([UInt8](data), source: path)
        } catch let error as JSONError {
            guard case let .invalid(_, reason) = error else { throw error }
            throw CheckpointError.unreadableConfig(path: path, reason: "invalid JSON: \(reason)")
        }
    }

    /// The parsed sidecar file at `path`, nil when it is absent.
    static func readSidecar(_ path: String) throws -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONValue.parse([UInt8](data), source: path)
        } catch let error as JSONError {
            guard case let .invalid(_, reason) = error else { throw error }
            throw CheckpointError.badSidecar(path: path, reason: "invalid JSON (\(reason))")
        }
    }
}

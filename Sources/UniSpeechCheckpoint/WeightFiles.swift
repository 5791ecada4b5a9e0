import Foundation
import UniSpeechCore

/// The four ways a HF checkpoint stores its weights.
public enum WeightLayout: String, Sendable, CaseIterable {
    case safetensors = "safetensors"
    case shardedSafetensors = "sharded-safetensors"
    case pytorch = "pytorch-zip"
    case shardedPytorch = "sharded-pytorch-zip"

    /// The file that marks the layout in a HF directory; `WeightLayout.allCases` is the order they are tried.
    public var fileName: String {
        switch self {
        case .safetensors: return "model.safetensors"
        case .shardedSafetensors: return "model.safetensors.index.json"
        case .pytorch: return "pytorch_model.bin"
        case .shardedPytorch: return "pytorch_model.bin.index.json"
        }
    }
}

/// Weights as stored (HF names), with the layout and the files they came from.
public struct StoredWeights: Sendable {
    public let layout: WeightLayout
    /// The tensors under the names they are stored with (see `CanonicalTensorSource` for canonical names).
    public let source: any TensorSource
    /// The files read, relative to the checkpoint's directory: the index first when sharded, then the shards.
    public let files: [String]

    /// Opens whichever layout `directory` holds (see `WeightLayout`).
    public static func open(directory: String) throws -> StoredWeights {
        for layout in WeightLayout.allCases {
            let path = directory + "/" + layout.fileName
            if FileManager.default.fileExists(atPath: path) { return try open(path: path, layout: layout) }
        }
        throw CheckpointError.noWeights(directory: directory)
    }

    /// Opens one weight file: a .safetensors, a torch.save'd .bin / .pt / .pth, or a shard index .json.
    public static func open(file path: String) throws -> StoredWeights {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.notFound(path: path) }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let layout: WeightLayout
        if name.hasSuffix(".safetensors") {
            layout = .safetensors
        } else if name.hasSuffix(".safetensors.index.json") {
            layout = .shardedSafetensors
        } else if name.hasSuffix(".bin.index.json") || name.hasSuffix(".pt.index.json") {
            layout = .shardedPytorch
        } else if [".bin", ".pt", ".pth"].contains(where: name.hasSuffix) {
            layout = .pytorch
        } else {
            throw CheckpointError.unknownWeightFile(path: path)
        }
        return try open(path: path, layout: layout)
    }

    private static func open(path: String, layout: WeightLayout) throws -> StoredWeights {
        let name = URL(fileURLWithPath: path).lastPathComponent
        switch layout {
        case .safetensors:
            return StoredWeights(layout: layout, source: try SafetensorsReader(path: path), files: [name])
        case .pytorch:
            return StoredWeights(layout: layout, source: try TorchZipReader(path: path), files: [name])
        case .shardedSafetensors:
            let source = try ShardedTensorSource(indexPath: path) { try SafetensorsReader(path: $0) }
            return StoredWeights(layout: layout, source: source, files: [name] + source.shardFiles)
        case .shardedPytorch:
            let source = try ShardedTensorSource(indexPath: path) { try TorchZipReader(path: $0) }
            return StoredWeights(layout: layout, source: source, files: [name] + source.shardFiles)
        }
    }
}

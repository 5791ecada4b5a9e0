import Foundation
import UniSpeechCore

/// Why a sharded checkpoint's index was rejected.
public enum ShardIndexError: LocalizedError, Equatable {
    case unreadable(path: String, reason: String)
    case badIndex(path: String, reason: String)
    case missingShard(path: String, shard: String)
    case tensorNotInShard(path: String, name: String, shard: String)
    case unlistedTensor(path: String, name: String, shard: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read shard index (\(reason))"
        case let .badIndex(path, reason): return "\(path): invalid shard index: \(reason)"
        case let .missingShard(path, shard): return "\(path): lists shard '\(shard)', which does not exist"
        case let .tensorNotInShard(path, name, shard): return "\(path): tensor '\(name)' is listed in '\(shard)' but that shard does not hold it"
        case let .unlistedTensor(path, name, shard): return "\(path): shard '\(shard)' holds tensor '\(name)', which the index does not list there"
        }
    }
}

/// Tensors spread over several files by a HF index (`*.index.json`: `weight_map` name -> file).
public struct ShardedTensorSource: TensorSource {
    public let indexPath: String
    /// Shard file names as the index lists them, sorted.
    public let shardFiles: [String]
    public let tensors: [TensorInfo]
    private let shards: [String: any TensorSource]
    private let shardOfTensor: [String: String]

    public var sourceDescription: String { indexPath }

    /// Reads the index, opens every shard with `openShard` and checks each tensor is where the index says.
    public init(indexPath: String, openShard: (String) throws -> any TensorSource) throws {
        self.indexPath = indexPath
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        } catch {
            throw ShardIndexError.unreadable(path: indexPath, reason: (error as NSError).localizedDescription)
        }
        let index: JSONValue
        do {
            index = try JSONValue.parse([UInt8](data), source: indexPath)
        } catch let error as JSONError {
            guard case let .invalid(_, reason) = error else { throw error }
            throw ShardIndexError.badIndex(path: indexPath, reason: "invalid JSON (\(reason))")
        }
        guard let weightMap = index["weight_map"]?.objectMembers else {
            throw ShardIndexError.badIndex(path: indexPath, reason: "no 'weight_map' object")
        }
        let directory = URL(fileURLWithPath: indexPath).deletingLastPathComponent().path
        var files: [String] = []
        var shardOfTensor: [String: String] = [:]
        for (name, value) in weightMap {
            guard let file = value.stringValue else {
                throw ShardIndexError.badIndex(path: indexPath, reason: "the file of '\(name)' is not a string")
            }
            guard !file.isEmpty, !file.contains("/"), file != ".", file != ".." else {
                throw ShardIndexError.badIndex(path: indexPath, reason: "shard name '\(file)' is not a plain file name")
            }
            if !files.contains(file) { files.append(file) }
            shardOfTensor[name] = file
        }
        var shards: [String: any TensorSource] = [:]
        var infos: [TensorInfo] = []
        files.sort()
        for file in files {
            let path = directory + "/" + file
            guard FileManager.default.fileExists(atPath: path) else {
                throw ShardIndexError.missingShard(path: indexPath, shard: file)
            }
            let shard = try openShard(path)
            let held = Set(shard.tensors.map(\.name))
            for info in shard.tensors {
                guard shardOfTensor[info.name] == file else {
                    throw ShardIndexError.unlistedTensor(path: indexPath, name: info.name, shard: file)
                }
                infos.append(info)
            }
            for (name, listed) in weightMap where listed.stringValue == file && !held.contains(name) {
                throw ShardIndexError.tensorNotInShard(path: indexPath, name: name, shard: file)
            }
            shards[file] = shard
        }
        shardFiles = files
        tensors = infos
        self.shards = shards
        self.shardOfTensor = shardOfTensor
    }

    public func bytes(of name: String) throws -> TensorBytes {
        guard let file = shardOfTensor[name], let shard = shards[file] else {
            throw TensorSourceError.missingTensor(source: indexPath, name: name)
        }
        return try shard.bytes(of: name)
    }
}

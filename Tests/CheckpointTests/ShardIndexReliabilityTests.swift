import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

@Suite struct ShardIndexReliabilityTests {
    /// A shard index may only name files in its own directory: no paths, no `..`, nothing absolute.
    @Test(arguments: ["../outside.safetensors", "/etc/passwd", "sub/model.safetensors", "..", "."])
    func shardNamesThatLeaveTheDirectoryAreRefused(_ shard: String) throws {
        let scratch = try ScratchDirectory("shards")
        try scratch.write("outside.safetensors", SafetensorsBytes.valid)
        try scratch.write("model/sub/model.safetensors", SafetensorsBytes.valid)
        try scratch.write("model/config.json", "{}")
        let index = try scratch.write("model/model.safetensors.index.json", #"{"weight_map": {"w": "\#(shard)"}}"#)
        do {
            _ = try HFCheckpoint.open(directory: scratch.file("model"))
            Issue.record("followed shard name '\(shard)'")
        } catch let error as ShardIndexError {
            #expect(error == .badIndex(path: index, reason: "shard name '\(shard)' is not a plain file name"))
        }
    }

    @Test func missingShardIsNamed() throws {
        let scratch = try ScratchDirectory("shards")
        try scratch.write("model/config.json", "{}")
        let index = try scratch.write("model/model.safetensors.index.json", #"{"weight_map": {"w": "model-00001-of-00002.safetensors"}}"#)
        #expect(throws: ShardIndexError.missingShard(path: index, shard: "model-00001-of-00002.safetensors")) {
            try HFCheckpoint.open(directory: scratch.file("model"))
        }
    }
}

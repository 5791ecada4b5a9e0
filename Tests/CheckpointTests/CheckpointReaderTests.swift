import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

@Suite struct CheckpointLayoutTests {
    @Test(arguments: ExpectedCheckpoint.directories)
    func namesDtypesShapesAndCount(fixture: String) throws {
        let expected = try #require(ExpectedCheckpoint.all[fixture])
        let stored = try StoredWeights.open(directory: ExpectedCheckpoint.directory(fixture))
        #expect(stored.layout.rawValue == expected.layout)
        #expect(stored.files.filter { !$0.hasSuffix(".index.json") } == expected.files)
        let found = Dictionary(uniqueKeysWithValues: stored.source.tensors.map { ($0.name, $0) })
        #expect(Set(found.keys) == Set(expected.tensors.map(\.name)))
        for (name, tensor) in expected.tensors {
            #expect(found[name]?.dtype == tensor.dtype, "\(name)")
            #expect(found[name]?.shape == tensor.shape, "\(name)")
        }
        #expect(stored.source.parameterCount == expected.parameterCount)
    }

    @Test(arguments: ExpectedCheckpoint.directories)
    func valuesMatchPyTorch(fixture: String) throws {
        let expected = try #require(ExpectedCheckpoint.all[fixture])
        let stored = try StoredWeights.open(directory: ExpectedCheckpoint.directory(fixture))
        var checked = 0
        for (name, tensor) in expected.tensors {
            guard let first = tensor.first, let sum = tensor.sum else { continue }
            let values = try stored.source.floats(name)
            #expect(values.count == tensor.shape.reduce(1, *))
            // Elements are stored exactly (f32 or f16 widened to f64 by the script): exact equality.
            #expect(values.prefix(first.count).map(Double.init) == first, "\(name)")
            // The sum depends on summation order: rtol 1e-5, atol 1e-5.
            let total = values.reduce(0.0) { $0 + Double($1) }
            #expect(abs(total - sum) <= 1e-5 + 1e-5 * abs(sum), "\(name): \(total) vs \(sum)")
            checked += 1
        }
        #expect(checked >= 3)
    }

    @Test func singleFilesOpenByExtension() throws {
        let bin = try StoredWeights.open(file: ExpectedCheckpoint.directory("ctc-bin") + "/pytorch_model.bin")
        #expect(bin.layout == .pytorch)
        let index = try StoredWeights.open(file: ExpectedCheckpoint.directory("ctc-sharded-bin") + "/pytorch_model.bin.index.json")
        #expect(index.layout == .shardedPytorch)
        #expect(index.files.count == 3)
        #expect(throws: CheckpointError.unknownWeightFile(path: ExpectedCheckpoint.directory("ctc-bin") + "/config.json")) {
            try StoredWeights.open(file: ExpectedCheckpoint.directory("ctc-bin") + "/config.json")
        }
    }
}

@Suite struct TorchZipReaderTests {
    static let views = Fixtures.path("checkpoints/views.bin")

    /// views.bin as written by torch.save, and the same members in a zip64 archive with unaligned data.
    @Test(arguments: ["views.bin", "views-zip64.bin"])
    func viewsSharedStoragesAndDtypes(file: String) throws {
        let reader = try TorchZipReader(path: Fixtures.path("checkpoints/" + file))
        let expected = try #require(ExpectedCheckpoint.all["views.bin"])
        #expect(reader.tensors.map(\.name).sorted() == expected.tensors.map(\.name).sorted())
        for (name, tensor) in expected.tensors {
            let info = try #require(reader.info(name))
            #expect(info.dtype == tensor.dtype, "\(name)")
            #expect(info.shape == tensor.shape, "\(name)")
            let values = try reader.bytes(of: name).floats(as: info.dtype).map(Double.init)
            // Every value is exactly representable in its dtype and in f32: exact equality.
            #expect(values == tensor.values, "\(name)")
        }
        #expect(reader.info("scalar")?.shape == [])
        if file == "views-zip64.bin" {
            let path = Fixtures.path("checkpoints/" + file)
            let archive = try ZipArchive(file: MappedFile(path: path), path: path)
            #expect(archive.entries.values.contains { $0.name.contains("/data/") && $0.dataOffset % 4 != 0 }, "some tensor data is unaligned")
        }
    }

    @Test func refusesHostileGlobalsByName() {
        let path = Fixtures.path("checkpoints/bad/hostile.bin")
        #expect(throws: PickleError.refusedGlobal(source: path, name: "os.system")) { try TorchZipReader(path: path) }
        let message = PickleError.refusedGlobal(source: "pytorch_model.bin", name: "os.system").errorDescription
        #expect(message == "pytorch_model.bin: refusing pickle global 'os.system' (only state-dict globals are allowed)")
    }

    @Test func refusesCompressedLegacyAndNonArchives() throws {
        let deflated = Fixtures.path("checkpoints/bad/deflated.bin")
        #expect {
            try TorchZipReader(path: deflated)
        } throws: { error in
            guard case let .compressedEntry(path, _, method) = error as? TorchCheckpointError else { return false }
            return path == deflated && method == 8
        }
        let legacy = Fixtures.path("checkpoints/bad/legacy-format.bin")
        #expect(throws: TorchCheckpointError.legacyFormat(path: legacy)) { try TorchZipReader(path: legacy) }
        let config = ExpectedCheckpoint.directory("ctc-bin") + "/config.json"
        #expect(throws: TorchCheckpointError.notACheckpoint(path: config)) { try TorchZipReader(path: config) }
    }

    /// Hand-written state dicts whose numbers disagree with the archive (their pickle writer is checked with torch.load).
    @Test(arguments: [
        ("view-past-storage.bin", "has more elements than its storage of 4"),
        ("storage-size-mismatch.bin", "storage '0' holds 100 F32 elements but its entry has 16 bytes"),
        ("missing-storage.bin", "archive entry 'archive/data/0' is missing"),
    ])
    func inconsistentArchivesAreRefused(file: String, message: String) throws {
        let path = Fixtures.path("checkpoints/bad/" + file)
        #expect {
            try TorchZipReader(path: path)
        } throws: { error in
            let description = (error as? LocalizedError)?.errorDescription ?? ""
            return description.hasPrefix(path + ": ") && description.contains(message)
        }
    }

    @Test func detectsCorruptStorageOnRead() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/pytorch_model.bin"
        try FileManager.default.copyItem(atPath: Self.views, toPath: path)
        let archive = try ZipArchive(file: MappedFile(path: path), path: path)
        let entry = try #require(archive.entries["views/data/0"])
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[entry.dataOffset + 5] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let reader = try TorchZipReader(path: path)
        #expect(throws: TorchCheckpointError.self) { try reader.bytes(of: "shared.head") }
        #expect(try reader.bytes(of: "half").count == 14)
    }

    @Test func truncatedArchiveIsAnError() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/pytorch_model.bin"
        let bytes = [UInt8](FileManager.default.contents(atPath: Self.views)!)
        try Data(bytes.prefix(bytes.count - 100)).write(to: URL(fileURLWithPath: path))
        #expect(throws: TorchCheckpointError.self) { try TorchZipReader(path: path) }
    }
}

@Suite struct RestrictedUnpicklerTests {
    static func unpickle(_ bytes: [UInt8]) throws -> [(name: String, tensor: TorchTensorRecord)] {
        try RestrictedUnpickler.stateDict(from: bytes, source: "data.pkl")
    }

    @Test func unknownOpcodeIsNamedByValue() {
        #expect(throws: PickleError.unknownOpcode(source: "data.pkl", opcode: 0x6F, offset: 2)) {
            try Self.unpickle([0x80, 0x02, 0x6F] + Array("builtins\nfoo\n".utf8))
        }
    }

    @Test func stackGlobalIsCheckedToo() {
        let pickle: [UInt8] = [0x80, 0x04, 0x8C, 0x08] + Array("builtins".utf8) + [0x8C, 0x04] + Array("eval".utf8) + [0x93, 0x2E]
        #expect(throws: PickleError.refusedGlobal(source: "data.pkl", name: "builtins.eval")) { try Self.unpickle(pickle) }
    }

    @Test func deepNestingHitsTheLimit() {
        let pickle: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 10_000) + [0x2E]
        #expect(throws: PickleError.limitExceeded(source: "data.pkl", what: "levels of nesting", limit: RestrictedUnpickler.maxNesting)) {
            try Self.unpickle(pickle)
        }
    }

    @Test func truncatedStreamIsMalformed() {
        #expect(throws: PickleError.self) { try Self.unpickle([0x80, 0x02, 0x7D, 0x28]) }
        #expect(throws: PickleError.self) { try Self.unpickle([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F]) }
    }

    @Test func storageTypesAreNotCallable() {
        let pickle: [UInt8] = [0x80, 0x02] + Array("ctorch\nFloatStorage\n".utf8) + [0x29, 0x52, 0x2E]
        #expect(throws: PickleError.self) { try Self.unpickle(pickle) }
    }
}

@Suite struct ShardIndexTests {
    @Test func missingShardIsNamed() throws {
        let scratch = try ScratchDirectory()
        try scratch.copyFiles(of: ExpectedCheckpoint.directory("ctc-sharded-f16"))
        try FileManager.default.removeItem(atPath: scratch.path + "/model-00002-of-00002.safetensors")
        #expect(throws: ShardIndexError.missingShard(path: scratch.path + "/model.safetensors.index.json", shard: "model-00002-of-00002.safetensors")) {
            try StoredWeights.open(directory: scratch.path)
        }
    }

    @Test func tensorMustBeWhereTheIndexSays() throws {
        let scratch = try ScratchDirectory()
        try scratch.copyFiles(of: ExpectedCheckpoint.directory("ctc-sharded-bin"))
        let indexPath = scratch.path + "/pytorch_model.bin.index.json"
        let index = try JSONValue.parse([UInt8](FileManager.default.contents(atPath: indexPath)!), source: indexPath)
        let map = try #require(index["weight_map"]?.objectMembers)
        let moved = try #require(map.first { $0.value.stringValue == "pytorch_model-00001-of-00002.bin" }).key
        let edited = JSONValue.object([("weight_map", .object(map.map {
            ($0.key, $0.key == moved ? .string("pytorch_model-00002-of-00002.bin") : $0.value)
        }))])
        try edited.serialized().write(toFile: indexPath, atomically: true, encoding: .utf8)
        #expect(throws: ShardIndexError.self) { try StoredWeights.open(directory: scratch.path) }
    }

    @Test func shardNamesMustBePlainFileNames() throws {
        let scratch = try ScratchDirectory()
        let indexPath = scratch.path + "/model.safetensors.index.json"
        try #"{"weight_map": {"a": "../model.safetensors"}}"#.write(toFile: indexPath, atomically: true, encoding: .utf8)
        #expect(throws: ShardIndexError.badIndex(path: indexPath, reason: "shard name '../model.safetensors' is not a plain file name")) {
            try StoredWeights.open(directory: scratch.path)
        }
    }
}

@Suite struct CRC32Tests {
    @Test func checkValues() {
        // The CRC-32 check value of "123456789" (the IEEE standard's own test vector), and of nothing.
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.checksum($0) } == 0)
        // zlib.crc32(bytes((i * 31) & 255 for i in range(1000))) in Python: exercises the 8-byte loop and the tail.
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(long.withUnsafeBytes { CRC32.checksum($0) } == 0x91F4_3DEC)
    }

    @Test func foldedPathMatchesZlib() {
        // zlib.crc32 in Python of bytes(((i * 131) ^ (i >> 7)) & 255 for i in range(4099)): whole, a slice at an
        // odd offset (unaligned loads, 16-byte blocks plus a tail), and continued from the first 64 bytes.
        let bytes = (0..<4099).map { UInt8(truncatingIfNeeded: ($0 &* 131) ^ ($0 >> 7)) }
        bytes.withUnsafeBytes { all in
            #expect(CRC32.checksum(all) == 0xDC016420)
            #expect(CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[3..<1003])) == 0xD09818EF)
            #expect(CRC32.update(CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[..<64])),
                                 UnsafeRawBufferPointer(rebasing: all[64...])) == 0xDC016420)
        }
    }
}

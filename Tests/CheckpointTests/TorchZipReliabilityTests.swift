import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

/// One broken PyTorch checkpoint and the words its error must contain.
struct BrokenTorchZip: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let expected: String
    var testDescription: String { name }

    static func members(_ name: String, expected: String, _ change: (inout [TorchZipBytes.Member]) -> Void) -> BrokenTorchZip {
        var members = TorchZipBytes.members()
        change(&members)
        return BrokenTorchZip(name: name, bytes: TorchZipBytes.archive(members), expected: expected)
    }

    static func tensor(_ name: String, expected: String, storage: [UInt8]? = nil, _ change: (inout TorchZipBytes.Tensor) -> Void) -> BrokenTorchZip {
        var tensor = TorchZipBytes.Tensor()
        change(&tensor)
        let storageBytes = storage ?? SafetensorsBytes.floats([1, 2, 3, 4])
        return BrokenTorchZip(name: name, bytes: TorchZipBytes.archive(TorchZipBytes.members(pickle: TorchZipBytes.statePickle([tensor]), storage: storageBytes)),
                              expected: expected)
    }

    static func pickle(_ name: String, expected: String, _ pickle: [UInt8]) -> BrokenTorchZip {
        BrokenTorchZip(name: name, bytes: TorchZipBytes.archive(TorchZipBytes.members(pickle: pickle)), expected: expected)
    }

    /// Every case of docs/RELIABILITY.md's PyTorch zip table that fails when the file is opened.
    static let all: [BrokenTorchZip] = {
        let valid = TorchZipBytes.archive(TorchZipBytes.members())
        let deepList: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: 100) + [UInt8](repeating: 0x61, count: 99) + [0x2E]
        let selfList: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]  // l = []; l.append(l)
        return [
            BrokenTorchZip(name: "empty file", bytes: [], expected: "not a PyTorch checkpoint"),
            BrokenTorchZip(name: "text file", bytes: Array("hello, world\n".utf8), expected: "not a PyTorch checkpoint"),
            BrokenTorchZip(name: "truncated to the first local header", bytes: Array(valid.prefix(30)), expected: "invalid zip archive"),
            BrokenTorchZip(name: "truncated by half", bytes: Array(valid.prefix(valid.count / 2)), expected: "invalid zip archive"),
            BrokenTorchZip(name: "truncated by one byte", bytes: Array(valid.dropLast()), expected: "invalid zip archive"),
            BrokenTorchZip(name: "central directory cut off", bytes: Array(valid.prefix(valid.count - 22)) + Array(valid.suffix(22).prefix(16)) + [0, 0, 0, 0, 0, 0],
                           expected: "invalid zip archive"),
            members("wrong CRC of data.pkl", expected: "archive entry 'archive/data.pkl' is corrupt") { $0[0].crc = 0xDEAD_BEEF },
            members("a bit flipped in data.pkl", expected: "archive entry 'archive/data.pkl' is corrupt") {
                $0[0].crc = $0[0].data.withUnsafeBytes { CRC32.checksum($0) }
                $0[0].data[5] ^= 0x10
            },
            members("deflated data.pkl", expected: "is compressed (zip method 8)") { $0[0].method = 8 },
            members("deflated tensor data", expected: "is compressed (zip method 8)") { $0[2].method = 8 },
            members("missing data.pkl", expected: "archive entry '<root>/data.pkl' is missing") { $0.remove(at: 0) },
            members("missing data/0", expected: "archive entry 'archive/data/0' is missing") { $0.remove(at: 2) },
            members("two data.pkl roots", expected: "several data.pkl entries") {
                $0.append(TorchZipBytes.Member(name: "other/data.pkl", data: $0[0].data))
            },
            members("big-endian byte order", expected: "byte order 'big' is not supported") { $0[1].data = Array("big".utf8) },
            members("zip bomb: data.pkl declares 4 GB", expected: "invalid zip archive") { $0[0].declaredSize = .max },
            members("zip bomb: tensor data declares 4 GB", expected: "invalid zip archive") { $0[2].declaredSize = .max },
            tensor("storage smaller than numel x dtype size", expected: "holds 4 F32 elements but its entry has 12 bytes",
                   storage: SafetensorsBytes.floats([1, 2, 3])) { _ in },
            tensor("view past its storage", expected: "reaches past its storage") { $0.offset = 1 },
            tensor("strides past the storage", expected: "reaches past its storage") { $0.strides = [4, 1] },
            tensor("storage offset Int.max", expected: "reaches past its storage") { $0.offset = .max },
            tensor("storage offset Int.max, one element", expected: "reaches past its storage") {
                $0.offset = .max
                $0.shape = [1]
                $0.strides = [1]
            },
            tensor("storage offset -1 as a 2-byte LONG1 (sign extension)", expected: "negative storage offset") {
                $0.offsetOpcodes = [0x8A, 2, 0xFF, 0xFF]
            },
            pickle("LONG1 as the first opcode (fuzzer crash: slice index)", expected: "unsupported pickle opcode 0x0 at byte 4",
                   Array("igJ9cQAoWAMAcgAAAAAAAGYzMnEBiX1xAChYAwByAAAAAAAAZjMycQGJaAopUnEUdHEVUnEWWASF".base64Decoded)),
            tensor("sizes and strides of different ranks", expected: "2 sizes but 1 strides") { $0.strides = [1] },
            tensor("negative size", expected: "not a non-negative integer") { $0.shape = [-1, 2] },
            tensor("element count overflows through zero strides", expected: "has more elements than its storage") {
                $0.shape = [1 << 32, 1 << 32]
                $0.strides = [0, 0]
            },
            tensor("zero-stride view larger than its storage (allocation bomb)", expected: "has more elements than its storage of 4") {
                $0.shape = [1 << 16, 1 << 16]
                $0.strides = [0, 0]
            },
            tensor("unknown storage type", expected: "refusing pickle global 'torch.EvilStorage'") { $0.storageType = "EvilStorage" },
            pickle("pickle without STOP", expected: "unexpected end of the pickle", Array(TorchZipBytes.statePickle([.init()]).dropLast())),
            pickle("pickle string length past the end", expected: "malformed pickle", [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61]),
            pickle("top level is a list", expected: "the top-level object is not a dict of tensors", [0x80, 0x02, 0x5D, 0x2E]),
            pickle("nesting 100 lists deep", expected: "exceeds the limit of 64 levels of nesting", deepList),
            pickle("list that contains itself", expected: "the top-level object is not a dict of tensors", selfList),
            pickle("dict stored inside itself through the memo (fuzzer leak)", expected: "unsupported pickle opcode 0x20 at byte 218",
                   Array("gAJ9cQAoWAMAAABmMzJxAWN0b3JjaC5fdXRpbHMKX3JlYnVpbGRfdGVuc29yX3YyCihxAihYBwAAAHN0b3JhZ2VxA2N0b3JjaApGbG9hdFN0b3JhZ2UKcQRYAQAAADVxBVgDAAAAY3B1cQZLBHRxB1FLAEsCaACGcQhLAksBhnEJiWNjb2xsZWN0aW9ucwpPcmRlcmVkRGljdApxCilScQt0cQyAXV1dWCwAAABScQp0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAdG9dXV1fXV1dcmVidWlodXUgL3RtcGgAL3VxcXFxcXFxcWN0aXFxSAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAFKIcXFxcWFyTHFoCilScS1Ph3FQUnFRJy4u".base64Decoded)),
            pickle("unknown opcode", expected: "unsupported pickle opcode 0xff", [0x80, 0x02, 0xFF, 0x2E]),
            pickle("duplicate tensor names", expected: "state-dict key 'w' appears twice", TorchZipBytes.statePickle([.init(), .init()])),
        ]
    }()
}

extension String {
    /// The bytes of this base64 text (fuzzer artifacts are quoted in base64).
    var base64Decoded: [UInt8] { [UInt8](Data(base64Encoded: self)!) }
}

@Suite struct TorchZipReliabilityTests {
    @Test func builderMakesAReadableCheckpoint() throws {
        let scratch = try ScratchDirectory("torchzip")
        defer { scratch.remove() }
        let reader = try TorchZipReader(path: try scratch.write("ok.bin", TorchZipBytes.archive(TorchZipBytes.members())))
        #expect(reader.tensors == [TensorInfo(name: "w", dtype: .f32, shape: [2, 2])])
        #expect(try reader.floats("w") == [1, 2, 3, 4])  // exact: stored bits
    }

    @Test(arguments: BrokenTorchZip.all)
    func brokenCheckpointIsRefusedWithAClearError(_ broken: BrokenTorchZip) throws {
        let scratch = try ScratchDirectory("torchzip")
        defer { scratch.remove() }
        let path = try scratch.write("pytorch_model.bin", broken.bytes)
        do {
            let reader = try TorchZipReader(path: path)
            Issue.record("accepted a broken checkpoint (\(broken.name)): \(reader.tensors)")
        } catch let error as LocalizedError {
            let message = error.errorDescription ?? ""
            #expect(message.hasPrefix(path + ": "), "the error names the file: \(message)")
            #expect(message.contains(broken.expected), "\(broken.name): \(message)")
        }
    }

    @Test func corruptTensorDataFailsWhenRead() throws {
        let scratch = try ScratchDirectory("torchzip")
        defer { scratch.remove() }
        var members = TorchZipBytes.members()
        members[2].crc = members[2].data.withUnsafeBytes { CRC32.checksum($0) }
        members[2].data[0] ^= 0x01
        let path = try scratch.write("flipped.bin", TorchZipBytes.archive(members))
        let reader = try TorchZipReader(path: path)
        #expect(throws: TorchCheckpointError.checksumMismatch(path: path, entry: "archive/data/0",
                                                              expected: members[2].crc!, found: members[2].data.withUnsafeBytes { CRC32.checksum($0) })) {
            try reader.bytes(of: "w")
        }
    }

    /// Cuts a real torch.save file at many points; every cut is a clear error, never a crash.
    @Test func truncatedRealCheckpointAtManyPoints() throws {
        let scratch = try ScratchDirectory("torchzip")
        defer { scratch.remove() }
        let original = [UInt8](FileManager.default.contents(atPath: Fixtures.path("checkpoints/ctc-bin/pytorch_model.bin"))!)
        let path = scratch.file("cut.bin")
        for length in stride(from: 0, to: original.count, by: max(1, original.count / 97)) {
            try Data(original.prefix(length)).write(to: URL(fileURLWithPath: path))
            #expect(throws: (any Error).self, "cut at \(length) of \(original.count) bytes") { try TorchZipReader(path: path) }
        }
    }
}

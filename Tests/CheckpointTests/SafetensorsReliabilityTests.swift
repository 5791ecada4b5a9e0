import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

/// One broken safetensors file and the words its error must contain.
struct BrokenSafetensors: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let expected: String
    var testDescription: String { name }

    static func header(_ name: String, _ json: String, data: [UInt8] = [], expected: String) -> BrokenSafetensors {
        BrokenSafetensors(name: name, bytes: SafetensorsBytes.file(header: json, data: data), expected: expected)
    }

    /// Every case of docs/RELIABILITY.md's safetensors table.
    static let all: [BrokenSafetensors] = {
        let eight = [UInt8](repeating: 0, count: 8)
        return [
            BrokenSafetensors(name: "empty file", bytes: [], expected: "only 0 bytes"),
            BrokenSafetensors(name: "7 bytes", bytes: [1, 0, 0, 0, 0, 0, 0], expected: "only 7 bytes"),
            BrokenSafetensors(name: "header length past the file",
                              bytes: SafetensorsBytes.file(header: "{}", declaredLength: 4096), expected: "runs past the end"),
            BrokenSafetensors(name: "header length 2^64-1",
                              bytes: SafetensorsBytes.file(header: "{}", declaredLength: .max), expected: "exceeds the 100000000-byte limit"),
            BrokenSafetensors(name: "header length 2^63",
                              bytes: SafetensorsBytes.file(header: "{}", declaredLength: 1 << 63), expected: "exceeds the 100000000-byte limit"),
            BrokenSafetensors(name: "header length 100 MB + 1",
                              bytes: SafetensorsBytes.file(header: "{}", declaredLength: 100_000_001), expected: "exceeds the 100000000-byte limit"),
            BrokenSafetensors(name: "header length just under the limit, tiny file",
                              bytes: SafetensorsBytes.file(header: "{}", declaredLength: 99_999_999), expected: "runs past the end"),
            header("invalid JSON", #"{"w": {"dtype": "F32",}"#, expected: "invalid safetensors header"),
            header("JSON cut short", #"{"w": {"dtype""#, expected: "invalid safetensors header"),
            header("header is an array", #"[1, 2]"#, expected: "does not start with '{'"),
            header("header is a number", "42", expected: "does not start with '{'"),
            header("trailing garbage after the header", #"{} xyz"#, expected: "invalid safetensors header"),
            BrokenSafetensors(name: "invalid UTF-8 in a tensor name",
                              bytes: SafetensorsBytes.file(header: "{\"w\u{FFFD}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", data: [0])
                                .map { $0 == 0xEF ? 0xFF : $0 }, expected: "invalid safetensors header"),
            header("deeply nested JSON", "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
                   expected: "invalid safetensors header"),
            header("duplicate tensor name", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                   data: eight, expected: "duplicate key 'w'"),
            header("names equal after Unicode normalisation", "{\"\u{E9}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"e\u{301}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                   data: [0, 0], expected: "duplicate key"),
            header("__metadata__ value not a string", #"{"__metadata__":{"format":1}}"#, expected: "is not a string"),
            header("__metadata__ not an object", #"{"__metadata__":[]}"#, expected: "__metadata__ is not an object"),
            header("tensor entry not an object", #"{"w":3}"#, expected: "entry is not an object"),
            header("missing dtype", #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], expected: "missing dtype"),
            header("unknown dtype", #"{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, data: [0], expected: "unsupported dtype 'F8_E4M3'"),
            header("missing shape", #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], expected: "missing shape"),
            header("negative dimension", #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0],
                   expected: "negative or non-integer dimension"),
            header("fractional dimension", #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0],
                   expected: "negative or non-integer dimension"),
            header("element count overflows", #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                   data: [0, 0, 0, 0], expected: "overflows"),
            header("byte count overflows", #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#,
                   data: eight, expected: "needs too many bytes"),
            header("shape and byte length disagree", #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
                   data: [UInt8](repeating: 0, count: 12), expected: "needs 16 bytes but data_offsets span 12"),
            header("dtype and byte length disagree", #"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#,
                   data: eight, expected: "needs 4 bytes but data_offsets span 8"),
            header("data_offsets reversed", #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: eight,
                   expected: "start <= end"),
            header("data_offsets with three entries", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: eight,
                   expected: "two integers"),
            header("data_offsets negative", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, expected: "two integers"),
            header("data_offsets as huge floats", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[1e300,1e300]}}"#,
                   expected: "two integers"),
            header("data_offsets past the end of the file", #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                   data: [0, 0, 0, 0], expected: "tensors need 8 data bytes but the file has 4"),
            header("data_offsets near Int.max", #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}}"#,
                   data: [0], expected: "hole of 9223372036854775806 bytes"),
            header("overlapping tensors", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                   data: eight, expected: "overlaps the tensor before it"),
            header("two tensors on the same bytes", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                   data: [0, 0, 0, 0], expected: "overlaps the tensor before it"),
            header("hole between tensors", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                   data: [UInt8](repeating: 0, count: 12), expected: "hole of 4 bytes before tensor 'b'"),
            header("bytes after the last tensor", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight,
                   expected: "4 bytes after the last tensor"),
            BrokenSafetensors(name: "valid file truncated by one byte", bytes: Array(SafetensorsBytes.valid.dropLast()),
                              expected: "tensors need 8 data bytes but the file has 7"),
            BrokenSafetensors(name: "not a safetensors file (a zip)", bytes: Array("PK\u{3}\u{4}0000000000000000".utf8),
                              expected: "exceeds the 100000000-byte limit"),
        ]
    }()
}

@Suite struct SafetensorsReliabilityTests {
    @Test(arguments: BrokenSafetensors.all)
    func brokenFileIsRefusedWithAClearError(_ broken: BrokenSafetensors) throws {
        let scratch = try ScratchDirectory("safetensors")
        defer { scratch.remove() }
        let path = try scratch.write("broken.safetensors", broken.bytes)
        do {
            let reader = try SafetensorsReader(path: path)
            Issue.record("accepted a broken file (\(broken.name)): \(reader.tensors)")
        } catch let error as SafetensorsError {
            let message = error.errorDescription ?? ""
            #expect(message.hasPrefix(path + ": "), "the error names the file: \(message)")
            #expect(message.contains(broken.expected), "\(broken.name): \(message)")
        }
    }

    @Test func validFileStillReads() throws {
        let scratch = try ScratchDirectory("safetensors")
        defer { scratch.remove() }
        let reader = try SafetensorsReader(path: try scratch.write("ok.safetensors", SafetensorsBytes.valid))
        #expect(try reader.floats("w") == [1, 2])  // exact: the f32 bits are stored as written
    }

    @Test func directoryAndMissingFileAreClearErrors() throws {
        let scratch = try ScratchDirectory("safetensors")
        defer { scratch.remove() }
        #expect(throws: MappedFile.Failure.cannotOpen(path: scratch.path, reason: "not a regular file")) {
            try SafetensorsReader(path: scratch.path)
        }
        let missing = scratch.file("missing.safetensors")
        #expect(throws: MappedFile.Failure.cannotOpen(path: missing, reason: "No such file or directory")) {
            try SafetensorsReader(path: missing)
        }
    }

    /// A file that claims a 100 MB header but holds 16 bytes must fail without reading or allocating it.
    @Test func absurdHeaderLengthAllocatesNothing() throws {
        let scratch = try ScratchDirectory("safetensors")
        defer { scratch.remove() }
        let path = try scratch.write("huge.safetensors", SafetensorsBytes.file(header: "{}", declaredLength: 99_999_999))
        let before = residentBytes()
        for _ in 0..<50 { _ = try? SafetensorsReader(path: path) }
        // 50 attempts at 100 MB would add ~5 GB; allow 32 MB of unrelated growth.
        #expect(residentBytes() - before < 32 << 20)
    }

    private func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechAudio
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore
@testable import UniSpeechFormat
@testable import UniSpeechKernels
@testable import UniSpeechModels

/// A valid .unispeech file (tiny-ctc converted to f32) and ways to break it.
struct NativeSample {
    let bytes: [UInt8]
    let headerLength: Int
    var header: JSONValue { try! JSONValue.parse(Array(bytes[24..<(24 + headerLength)]), source: "sample") }
    var dataStart: Int { NativeFormat.aligned(24 + headerLength) }
    var dataSection: [UInt8] { Array(bytes[dataStart...]) }

    static let shared: NativeSample = {
        let scratch = try! ScratchDirectory("native-sample")
        let path = scratch.file("tiny.unispeech")
        _ = try! NativeConversion.convert(hfDirectory: Fixtures.path("format/tiny-ctc"), to: path, format: .f32)
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let length = bytes[16..<24].reversed().reduce(0) { $0 << 8 | Int($1) }
        return NativeSample(bytes: bytes, headerLength: length)
    }()

    /// A file with `header` (serialised, its CRC-32 in the prefix) over `data`, padded as the writer pads.
    static func file(header: [UInt8], data: [UInt8], pad: Bool = true) -> [UInt8] {
        var out = NativeWriter.prefix(header: header) + header
        if pad { out += [UInt8](repeating: 0, count: NativeFormat.aligned(out.count) - out.count) }
        return out + data
    }

    /// This sample with one tensor row changed (the header CRC-32 recomputed).
    func editingRow(_ index: Int, _ key: String, _ value: JSONValue) -> [UInt8] {
        guard case var .object(members) = header, let slot = members.firstIndex(where: { $0.key == "tensors" }),
              case var .array(rows) = members[slot].value, case var .object(row) = rows[index] else { return bytes }
        if let field = row.firstIndex(where: { $0.key == key }) { row[field].value = value } else { row.append((key, value)) }
        rows[index] = .object(row)
        members[slot].value = .array(rows)
        return Self.file(header: Array(JSONValue.object(members).serialized().utf8), data: dataSection)
    }

    func row(_ index: Int, _ key: String) -> JSONValue { header["tensors"]!.arrayValue![index][key]! }

    /// This sample with some prefix bytes replaced.
    func patching(_ offset: Int, _ replacement: [UInt8]) -> [UInt8] {
        var copy = bytes
        copy.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
        return copy
    }
}

/// One broken .unispeech file and the words its error must contain.
struct BrokenNative: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let expected: String
    var testDescription: String { name }

    static let all: [BrokenNative] = {
        let sample = NativeSample.shared
        let le32 = TorchZipBytes.le32, le64 = TorchZipBytes.le64
        let rows = sample.header["tensors"]!.arrayValue!
        let big = rows.firstIndex { $0["bytes"]!.intValue! > 64 }!
        var flippedHeader = sample.bytes
        flippedHeader[24 + sample.headerLength / 2] ^= 0x02
        let zeroSizeTable = #"{"format_version":1,"producer":"x","architecture":"UniSpeechModel","weight_format":"f32","config":{},"source":{},"tensors":[{"name":"e","dtype":"f32","shape":[0],"offset":0,"bytes":0,"crc32":"00000000"}]}"#
        return [
            BrokenNative(name: "empty file", bytes: [], expected: "not a .unispeech file"),
            BrokenNative(name: "wrong magic", bytes: sample.patching(0, Array("UNISPCX".utf8)), expected: "not a .unispeech file"),
            BrokenNative(name: "a safetensors file", bytes: SafetensorsBytes.valid, expected: "not a .unispeech file"),
            BrokenNative(name: "magic only", bytes: Array(sample.bytes.prefix(8)), expected: "shorter than the 24-byte prefix"),
            BrokenNative(name: "newer format version", bytes: sample.patching(8, le32(2)), expected: "format version 2 is newer than this build reads"),
            BrokenNative(name: "format version 0", bytes: sample.patching(8, le32(0)), expected: "format version 0 does not exist"),
            BrokenNative(name: "header length past the file", bytes: sample.patching(16, le64(UInt64(sample.bytes.count))), expected: "runs past the end"),
            BrokenNative(name: "header length 2^64-1", bytes: sample.patching(16, le64(.max)), expected: "exceeds the 100000000-byte limit"),
            BrokenNative(name: "a flipped bit in the header", bytes: flippedHeader, expected: "the header is damaged"),
            BrokenNative(name: "header checksum zeroed", bytes: sample.patching(12, le32(0)), expected: "the header is damaged"),
            BrokenNative(name: "invalid JSON header (checksum right)",
                         bytes: NativeSample.file(header: Array(#"{"format_version": 1,"#.utf8), data: []), expected: "invalid .unispeech header"),
            BrokenNative(name: "header is not an object", bytes: NativeSample.file(header: Array("[]".utf8), data: []),
                         expected: "not a JSON object"),
            BrokenNative(name: "truncated data section", bytes: Array(sample.bytes.dropLast()), expected: "lies outside the"),
            BrokenNative(name: "offset out of range", bytes: sample.editingRow(0, "offset", .int(1 << 40)), expected: "lies outside the"),
            BrokenNative(name: "offset near Int.max", bytes: sample.editingRow(0, "offset", .int(Int64.max - 63)), expected: "lies outside the"),
            BrokenNative(name: "overlapping tensors",
                         bytes: sample.editingRow(big + 1, "offset", .int(Int64(sample.row(big, "offset").intValue! + 64))), expected: "overlap"),
            BrokenNative(name: "offset not 64-aligned", bytes: sample.editingRow(1, "offset", .int(Int64(sample.row(1, "offset").intValue! + 4))),
                         expected: "is not a multiple of 64"),
            BrokenNative(name: "shape and byte length disagree", bytes: sample.editingRow(0, "shape", .array([.int(3)])), expected: "bytes but the table says"),
            BrokenNative(name: "dtype and byte length disagree", bytes: sample.editingRow(0, "dtype", .string("f16")), expected: "bytes but the table says"),
            BrokenNative(name: "unknown dtype", bytes: sample.editingRow(0, "dtype", .string("bf16")), expected: "dtype must be one of"),
            BrokenNative(name: "negative byte length", bytes: sample.editingRow(0, "bytes", .int(-4)), expected: "bytes must be a non-negative integer"),
            BrokenNative(name: "shape overflows", bytes: sample.editingRow(0, "shape", .array([.int(1 << 40), .int(1 << 40)])), expected: "overflows"),
            BrokenNative(name: "duplicate tensor name", bytes: sample.editingRow(1, "name", sample.row(0, "name")), expected: "is listed twice"),
            BrokenNative(name: "checksum not hex", bytes: sample.editingRow(0, "crc32", .string("xyz")), expected: "crc32 must be eight hex digits"),
            BrokenNative(name: "scale tensor on an f32 tensor", bytes: sample.editingRow(0, "scale", .string("nothing.scale")),
                         expected: "only i8 tensors have a 'scale' tensor"),
            BrokenNative(name: "config contradicts itself", bytes: NativeSample.file(
                header: Array(zeroSizeTable.replacingOccurrences(of: #""config":{}"#, with: #""config":{"hidden_size":10,"num_attention_heads":3}"#).utf8),
                data: []), expected: "must be divisible by num_attention_heads"),
            BrokenNative(name: "header ends unpadded at the end of the file (zero-size tensor)",
                         bytes: NativeSample.file(header: Array(zeroSizeTable.utf8), data: [], pad: false), expected: "data section"),
        ]
    }()
}

@Suite struct NativeReliabilityTests {
    @Test(arguments: BrokenNative.all)
    func brokenFileIsRefusedWithAClearError(_ broken: BrokenNative) throws {
        let scratch = try ScratchDirectory("native")
        let path = try scratch.write("broken.unispeech", broken.bytes)
        do {
            let reader = try NativeReader(path: path)
            for info in reader.tensors { _ = try reader.bytes(of: info.name) }
            _ = try ModelBundle.open(path: path)
            Issue.record("accepted a broken file (\(broken.name))")
        } catch let error as LocalizedError {
            let message = error.errorDescription ?? ""
            #expect(message.hasPrefix(path), "the error names the file: \(message)")
            #expect(message.contains(broken.expected), "\(broken.name): \(message)")
        }
    }

    @Test func sampleIsValid() throws {
        let scratch = try ScratchDirectory("native")
        let reader = try NativeReader(path: try scratch.write("ok.unispeech", NativeSample.shared.bytes))
        try reader.checkChecksums()
        #expect(reader.tensors.count == 48)
    }

    /// Cuts the file at every byte of the prefix and at 200 points each through the header and the data: always an error.
    @Test func truncatedAtAnyPoint() throws {
        let scratch = try ScratchDirectory("native")
        let sample = NativeSample.shared
        let path = scratch.file("cut.unispeech")
        let cuts = Array(0..<24) + Array(stride(from: 24, to: sample.dataStart, by: max(1, sample.dataStart / 200)))
            + Array(stride(from: sample.dataStart, to: sample.bytes.count, by: max(1, (sample.bytes.count - sample.dataStart) / 200)))
        for length in cuts {
            try Data(sample.bytes.prefix(length)).write(to: URL(fileURLWithPath: path))
            #expect(throws: NativeFormatError.self, "cut at \(length) of \(sample.bytes.count) bytes") { try NativeReader(path: path) }
        }
    }

    /// Flips one bit in every byte of the prefix and in every 7th byte of the header (a different bit each time): always an error.
    @Test func everyFlippedHeaderBitIsCaught() throws {
        let scratch = try ScratchDirectory("native")
        let sample = NativeSample.shared
        let path = scratch.file("flipped.unispeech")
        for index in Array(0..<24) + Array(stride(from: 24, to: 24 + sample.headerLength, by: 7)) {
            var bytes = sample.bytes
            bytes[index] ^= UInt8(1 << (index % 8))
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: NativeFormatError.self, "bit \(index % 8) of byte \(index)") { try NativeReader(path: path) }
        }
    }

    /// Flips one bit in each tensor's data: the file opens (checksums cost startup time), and the check names the tensor.
    @Test func everyFlippedDataBitIsCaughtByTheChecksumCheck() throws {
        let scratch = try ScratchDirectory("native")
        let sample = NativeSample.shared
        let path = scratch.file("flipped.unispeech")
        for row in sample.header["tensors"]!.arrayValue! where row["bytes"]!.intValue! > 0 {
            let name = row["name"]!.stringValue!
            var bytes = sample.bytes
            bytes[sample.dataStart + row["offset"]!.intValue! + row["bytes"]!.intValue! / 2] ^= 0x10
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let reader = try NativeReader(path: path)
            do {
                try reader.checkChecksums()
                Issue.record("a flipped bit in '\(name)' went unnoticed")
            } catch let error as NativeFormatError {
                guard case let .checksumMismatch(_, damaged, _, _) = error else { Issue.record("\(error)"); continue }
                #expect(damaged == name)
            }
        }
    }
}

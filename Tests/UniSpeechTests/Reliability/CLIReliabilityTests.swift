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

/// Command-line behaviour on damaged models, hostile inputs and failing writes: exit status 2, one
/// error line naming the file, no output file, and the old file intact.
@Suite struct CLIReliabilityTests {
    static let tinyModel = Fixtures.path("format/tiny-ctc")

    /// A copy of the tiny HF model whose first f32 weight holds a NaN at index 1 and +Inf at index 2.
    static func modelWithNonFiniteWeight(in scratch: ScratchDirectory) throws -> (directory: String, tensor: String) {
        let directory = scratch.file("nan-model")
        try FileManager.default.copyItem(atPath: tinyModel, toPath: directory)
        let weights = directory + "/model.safetensors"
        let reader = try SafetensorsReader(path: weights)
        let tensor = reader.tensors.first { $0.dtype == .f32 && $0.elementCount >= 3 }!
        var bytes = [UInt8](FileManager.default.contents(atPath: weights)!)
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        let header = try JSONValue.parse(Array(bytes[8..<(8 + headerLength)]), source: weights)
        let start = 8 + headerLength + header[tensor.name]!["data_offsets"]!.arrayValue![0].intValue!
        bytes.replaceSubrange((start + 4)..<(start + 12), with: SafetensorsBytes.floats([.nan, .infinity]))
        try Data(bytes).write(to: URL(fileURLWithPath: weights))
        return (directory, tensor.name)
    }

    /// A float32 .npy file (format 1.0) holding `values`.
    static func npy(_ values: [Float]) -> [UInt8] {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(values.count),), }"
        header += String(repeating: " ", count: 63 - (10 + header.count) % 64) + "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0] + TorchZipBytes.le16(UInt16(header.utf8.count)) + Array(header.utf8)
            + SafetensorsBytes.floats(values)
    }

    private func expectCleanFailure(_ result: CLI.Result, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!result.crashed && result.status == 2, "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderrLines.count == 1 && result.stderr.contains(expected), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test func inspectNotesNonFiniteWeights() throws {
        let scratch = try ScratchDirectory("cli")
        let (model, tensor) = try Self.modelWithNonFiniteWeight(in: scratch)
        let result = try CLI.run(["inspect", model])
        #expect(result.status == 0)
        #expect(result.stdout.contains("non-finite values in tensor \(tensor): 1 NaN, 1 Inf (first at index 1)"), "\(result.stdout)")
        let clean = try CLI.run(["inspect", Self.tinyModel])
        #expect(clean.status == 0 && !clean.stdout.contains("non-finite"))
    }

    @Test func inspectCheckNotesNonFiniteWeightsOfANativeFile() throws {
        let scratch = try ScratchDirectory("cli")
        let (model, tensor) = try Self.modelWithNonFiniteWeight(in: scratch)
        let native = scratch.file("nan.unispeech")
        #expect(try CLI.run(["convert", model, "-o", native]).status == 0)
        let result = try CLI.run(["inspect", native, "--check"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("non-finite values in tensor \(tensor): 1 NaN, 1 Inf (first at index 1)"), "\(result.stdout)")
    }

    @Test func verifyRefusesNonFiniteWeights() throws {
        let scratch = try ScratchDirectory("cli")
        let (model, tensor) = try Self.modelWithNonFiniteWeight(in: scratch)
        expectCleanFailure(try CLI.run(["verify", model, "--reference", Self.tinyModel]),
                           "\(model): weights hold NaN or Inf values, in tensor \(tensor): 1 NaN, 1 Inf")
    }

    @Test func verifyAndRunRefuseNonFiniteInputs() throws {
        let scratch = try ScratchDirectory("cli")
        let input = try scratch.write("nan.npy", Self.npy([0.1, 0.2, .nan] + [Float](repeating: 0, count: 4000)))
        let expected = "\(input): the input holds NaN or Inf values (1 NaN, 0 Inf, the first at sample 2)"
        expectCleanFailure(try CLI.run(["verify", Self.tinyModel, "--reference", Self.tinyModel, "--audio", input]), expected)
        expectCleanFailure(try CLI.run(["run", Self.tinyModel, input]), expected)
    }

    @Test func verifyReportsADamagedNativeFile() throws {
        let scratch = try ScratchDirectory("cli")
        let path = scratch.file("tiny.unispeech")
        var bytes = NativeSample.shared.bytes
        bytes[bytes.count - 3] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        expectCleanFailure(try CLI.run(["verify", path, "--reference", Self.tinyModel]), "is damaged (crc32")
        expectCleanFailure(try CLI.run(["inspect", path, "--check"]), "is damaged (crc32")
    }

    @Test func inspectReportsACorruptTensorInAZip() throws {
        let scratch = try ScratchDirectory("cli")
        var members = TorchZipBytes.members()
        members[2].crc = members[2].data.withUnsafeBytes { CRC32.checksum($0) }
        members[2].data[1] ^= 0x01
        let path = try scratch.write("pytorch_model.bin", TorchZipBytes.archive(members))
        expectCleanFailure(try CLI.run(["inspect", path]), "archive entry 'archive/data/0' is corrupt")
    }

    /// One broken input per reader, through `inspect` or `run`: exit 2 and one line naming the file.
    @Test(arguments: [
        ("truncated.safetensors", "inspect"), ("header-past-end.safetensors", "inspect"), ("deflated.bin", "inspect"),
        ("missing-data-pkl.bin", "inspect"), ("empty.wav", "run"), ("text.wav", "run"), ("zero-hz.wav", "run"), ("int16.npy", "run"),
    ])
    func brokenInputExitsWithStatus2(_ name: String, _ command: String) throws {
        let scratch = try ScratchDirectory("cli")
        var members = TorchZipBytes.members()
        var bytes: [UInt8]
        switch name {
        case "truncated.safetensors": bytes = Array(SafetensorsBytes.valid.dropLast())
        case "header-past-end.safetensors": bytes = SafetensorsBytes.file(header: "{}", declaredLength: 1 << 20)
        case "deflated.bin":
            members[0].method = 8
            bytes = TorchZipBytes.archive(members)
        case "missing-data-pkl.bin": bytes = TorchZipBytes.archive(Array(members.dropFirst()))
        case "empty.wav": bytes = []
        case "text.wav": bytes = Array("RIFF? no, just text\n".utf8)
        case "zero-hz.wav":
            let samples = [UInt8](repeating: 0, count: 200)
            bytes = Array("RIFF".utf8) + TorchZipBytes.le32(UInt32(36 + samples.count)) + Array("WAVEfmt ".utf8) + TorchZipBytes.le32(16)
                + TorchZipBytes.le16(1) + TorchZipBytes.le16(1) + TorchZipBytes.le32(0) + TorchZipBytes.le32(0) + TorchZipBytes.le16(2)
                + TorchZipBytes.le16(16) + Array("data".utf8) + TorchZipBytes.le32(UInt32(samples.count)) + samples
        default: bytes = Array(Self.npy([1, 2]).prefix(10)) + Array("'descr': '<i2', 'fortran_order': False, 'shape': (2,), }\n".utf8)
        }
        let path = try scratch.write(name, bytes)
        let result = try CLI.run(command == "run" ? ["run", Self.tinyModel, path] : ["inspect", path])
        expectCleanFailure(result, path)
    }

    @Test func configContradictingTheWeightsIsAClearError() throws {
        let scratch = try ScratchDirectory("cli")
        let model = scratch.file("model")
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: model)
        let configPath = model + "/config.json"
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        try config.replacingOccurrences(of: #""intermediate_size": 64"#, with: #""intermediate_size": 48"#)
            .write(toFile: configPath, atomically: false, encoding: .utf8)
        let input = try scratch.write("x.npy", Self.npy([Float](repeating: 0.1, count: 4000)))
        let result = try CLI.run(["run", model, input])
        expectCleanFailure(result, "intermediate_dense")
    }

    @Test func writingOverAnInputIsRefused() throws {
        let scratch = try ScratchDirectory("cli")
        let model = scratch.file("model")
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: model)
        let weights = model + "/model.safetensors"
        let original = FileManager.default.contents(atPath: weights)
        let native = try scratch.write("tiny.unispeech", NativeSample.shared.bytes)
        let input = try scratch.write("x.npy", Self.npy([Float](repeating: 0.1, count: 4000)))
        try FileManager.default.createSymbolicLink(atPath: scratch.file("alias.unispeech"), withDestinationPath: native)
        let attempts = [
            ["convert", model, "-o", weights],
            ["quantize", native, "-o", native, "--dtype", "f16"],
            ["quantize", native, "-o", scratch.file("alias.unispeech"), "--dtype", "int8"],
            ["run", model, input, "--output", weights],
            ["run", model, input, "--output", input],
        ]
        for arguments in attempts {
            expectCleanFailure(try CLI.run(arguments), "refusing to overwrite an input file")
        }
        #expect(FileManager.default.contents(atPath: weights) == original)
        #expect(FileManager.default.contents(atPath: native) == Data(NativeSample.shared.bytes))
    }

    /// A file-size limit (ulimit -f, in 512-byte blocks) makes the write fail: exit 2, no output or
    /// temporary file, and an existing file at the output path keeps its old contents.
    @Test(arguments: ["convert", "quantize", "run --output"])
    func failedWriteLeavesNoOutputAndTheOldFileIntact(_ command: String) throws {
        let scratch = try ScratchDirectory("cli")
        let outputs = try ScratchDirectory("cli-out")
        let native = try scratch.write("tiny.unispeech", NativeSample.shared.bytes)
        let input = try scratch.write("x.npy", Self.npy([Float](repeating: 0.1, count: 16000)))
        let output = outputs.file(command == "run --output" ? "out.safetensors" : "out.unispeech")
        let arguments: [String]
        switch command {
        case "convert": arguments = ["convert", Self.tinyModel, "-o", output]
        case "quantize": arguments = ["quantize", native, "-o", output, "--dtype", "f16"]
        default: arguments = ["run", Self.tinyModel, input, "--output", output]
        }
        let limited = try CLI.run(arguments, shellPrefix: "ulimit -f 16")  // 8 KiB, below every output here
        expectCleanFailure(limited, "write failed (File too large)")
        #expect(try outputs.entries().isEmpty, "no output and no temporary file")

        try outputs.write(output.components(separatedBy: "/").last!, "old contents")
        let again = try CLI.run(arguments, shellPrefix: "ulimit -f 16")
        expectCleanFailure(again, "write failed (File too large)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "old contents")
        #expect(try outputs.entries().count == 1)

        let unlimited = try CLI.run(arguments)
        #expect(unlimited.status == 0, "\(unlimited.stderr)")
        #expect(try outputs.entries().count == 1 && FileManager.default.contents(atPath: output) != Data("old contents".utf8))
    }
}

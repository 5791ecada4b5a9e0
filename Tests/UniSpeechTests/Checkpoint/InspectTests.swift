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

@Suite struct InspectTests {
    static let schema = try! JSONSchemaValidator(path: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas/inspect.schema.json").path)

    @Test(arguments: ExpectedCheckpoint.directories)
    func reportMatchesPyTorch(fixture: String) throws {
        let expected = try #require(ExpectedCheckpoint.all[fixture])
        let report = InspectReport(try Inspector.open(path: ExpectedCheckpoint.directory(fixture)))
        #expect(report.parameterCount == expected.parameterCount)
        #expect(report.architecture == expected.architecture)
        #expect(report.architectureSource == "config")
        #expect(report.model.format == expected.layout)
        #expect(report.model.tensors.count == expected.tensors.count)
        let expectedBytes = expected.tensors.reduce(0) { $0 + $1.tensor.shape.reduce(1, *) * $1.tensor.dtype.size }
        #expect(report.totalBytes == expectedBytes)
        #expect(report.bytesByDType.reduce(0) { $0 + $1.bytes } == expectedBytes)
        let json = report.json()
        #expect(Self.schema.validate(json) == [])
        #expect(json["tensors"]?.arrayValue?.count == expected.tensors.count)
        #expect(json["config"]?["hidden_size"]?.intValue == 16)
    }

    @Test func headsFollowTheTensors() throws {
        func heads(_ fixture: String) throws -> [ModelHead] {
            InspectReport(try Inspector.open(path: ExpectedCheckpoint.directory(fixture))).heads
        }
        #expect(try heads("ctc-bin") == [.base, .ctc])
        #expect(try heads("base-bare") == [.base])
        #expect(try heads("classification") == [.base, .classification])
        #expect(try heads("pretraining") == [.base, .pretraining])
        let classification = InspectReport(try Inspector.open(path: ExpectedCheckpoint.directory("classification")))
        #expect(classification.configSummary.first { $0.key == "num_labels" }?.value == .int(3))
    }

    @Test func singleWeightFileHasNoConfigButListsTensors() throws {
        let path = ExpectedCheckpoint.directory("ctc-bin-legacy-names") + "/pytorch_model.bin"
        let report = InspectReport(try Inspector.open(path: path))
        #expect(report.model.config == nil)
        #expect(report.architecture == "UniSpeechForCTC")
        #expect(report.architectureSource == "tensors")
        #expect(report.model.notes.count == 1)
        #expect(report.parameterCount == ExpectedCheckpoint.all["ctc-bin-legacy-names"]?.parameterCount)
        let json = report.json()
        #expect(json["config"] == .null)
        #expect(Self.schema.validate(json) == [])
        #expect(report.text(includeTensors: false).contains("note"))
    }

    @Test func unknownTensorsGiveNoArchitecture() throws {
        let report = InspectReport(try Inspector.open(path: Fixtures.path("checkpoints/views.bin")))
        #expect(report.architecture == nil)
        #expect(report.heads.isEmpty)
        #expect(report.parameterCount == 2 * 3 + 3 * 4 + 4 * 3 + 5 + 1 + 7 + 5 + 3 + 3)
        #expect(Self.schema.validate(report.json()) == [])
    }

    @Test func textColumnsAreAligned() throws {
        let report = InspectReport(try Inspector.open(path: ExpectedCheckpoint.directory("ctc-sharded-f16")))
        let text = report.text(includeTensors: true)
        let blocks = text.components(separatedBy: "\n\n")
        #expect(blocks.count == 2)
        let summary = blocks[0].split(separator: "\n").map(String.init)
        #expect(summary.contains { $0.hasPrefix("parameters") && $0.hasSuffix(" 5,624") })
        let starts = Set(summary.filter { !$0.hasPrefix("  ") }.map { line -> Int in
            let key = line.prefix { $0 != " " }
            return key.count + line.dropFirst(key.count).prefix { $0 == " " }.count
        })
        #expect(starts.count == 1, "values start in one column: \(starts)")
        let table = blocks[1].split(separator: "\n").map(String.init)
        #expect(table.count == 1 + report.model.tensors.count)
        #expect(Set(table.map(\.count)).count == 1, "table rows are padded to one width")
        #expect(table[0].hasPrefix("name"))
    }

    @Test func formatting() {
        #expect(InspectReport.grouped(1_234_567) == "1,234,567")
        #expect(InspectReport.grouped(999) == "999")
        #expect(InspectReport.size(1000) == "1,000 bytes")
        #expect(InspectReport.size(3 << 20) == "3.0 MiB (3,145,728 bytes)")
    }
}

/// Runs the built `unispeech` binary. `swift test` builds it together with the tests; the path is the
/// test bundle's build directory.
@Suite struct InspectCommandTests {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func binary() -> String? {
        var directories = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        directories += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        return directories.map { $0.appendingPathComponent("unispeech").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ arguments: [String]) throws -> Result {
        let path = try #require(binary(), "the unispeech binary is not next to the test bundle; run `swift build` first")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test(arguments: ExpectedCheckpoint.directories)
    func jsonOutputFollowsTheSchema(fixture: String) throws {
        let result = try Self.run(["inspect", ExpectedCheckpoint.directory(fixture), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue.parse(result.stdout, source: "stdout")
        #expect(InspectTests.schema.validate(json) == [])
        #expect(json["parameter_count"]?.intValue == ExpectedCheckpoint.all[fixture]?.parameterCount)
    }

    @Test func textWithTensorsListsEveryTensor() throws {
        let result = try Self.run(["inspect", ExpectedCheckpoint.directory("ctc-sharded-bin"), "--tensors"])
        #expect(result.status == 0)
        for name in try #require(ExpectedCheckpoint.all["ctc-sharded-bin"]).tensors.map(\.name) {
            #expect(result.stdout.contains("\n" + name + " "), "\(name)")
        }
    }

    @Test func hostilePickleExitsWithStatus2() throws {
        let path = Fixtures.path("checkpoints/bad/hostile.bin")
        let result = try Self.run(["inspect", path])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "unispeech: \(path): refusing pickle global 'os.system' (only state-dict globals are allowed)\n")
    }

    @Test func badInputExitsWithStatus2() throws {
        for name in ["bad/deflated.bin", "bad/legacy-format.bin", "missing"] {
            let result = try Self.run(["inspect", Fixtures.path("checkpoints/" + name)])
            #expect(result.status == 2, "\(name)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(name): one error line")
        }
    }
}

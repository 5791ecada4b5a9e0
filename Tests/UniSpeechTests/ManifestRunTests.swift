import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechAudio
@testable import UniSpeechCore
@testable import UniSpeechModels

/// Manifest runs: one JSONL line per input equal to a one-file run, errors as lines, resume, shards, batches,
/// chunks and the memory limit.
struct ManifestRunTests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static let demoModel = repository.appendingPathComponent("examples/unispeech-digits-ctc").path
    static let lineSchema = repository.appendingPathComponent("schemas/run-line.schema.json").path
    static let runSchema = repository.appendingPathComponent("schemas/run-output.schema.json").path

    /// The example audio files, sorted.
    static func exampleAudio() throws -> [String] {
        let directory = repository.appendingPathComponent("examples/audio").path
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wav") }.sorted()
            .map { directory + "/" + $0 }
    }

    /// A text manifest of `paths` in `scratch`.
    static func manifest(_ paths: [String], in scratch: ScratchDirectory, name: String = "list.txt") throws -> String {
        try scratch.write(name, paths.joined(separator: "\n") + "\n")
    }

    /// The lines of a JSONL file, parsed.
    static func lines(_ path: String) throws -> [JSONValue] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        return try text.split(separator: "\n").map { try JSONValue.parse(String($0), source: path) }
    }

    /// A line without the members the manifest run adds to an input's entry.
    static func entry(_ line: JSONValue) -> JSONValue {
        .object(line.objectMembers!.filter { $0.key != "model" && $0.key != "head" })
    }

    static func run(_ model: String, _ manifest: String, _ output: String, resume: Bool = false, shard: Shard? = nil,
                    batchSize: Int = 1, chunk: ChunkSettings? = nil, memoryLimit: Int? = nil) throws -> ManifestRunSummary {
        try ManifestRun.run(ManifestRunRequest(modelPath: model, manifestPath: manifest, outputPath: output, resume: resume,
                                               shard: shard, batchSize: batchSize, chunk: chunk, memoryLimit: memoryLimit, threads: 1))
    }

    @Test func everyLineEqualsAOneFileRunAndAFailureIsALine() throws {
        let scratch = try ScratchDirectory("manifest")
        let bad = try scratch.write("not-audio.wav", "text, not audio")
        let inputs = try Self.exampleAudio() + [bad]
        let output = scratch.file("out.jsonl")
        let summary = try Self.run(Self.demoModel, try Self.manifest(inputs, in: scratch), output)
        #expect(summary.inputs == inputs.count && summary.succeeded == inputs.count - 1 && summary.failed == 1 && summary.skipped == 0)
        let lines = try Self.lines(output)
        #expect(lines.map { $0["path"]!.stringValue! } == inputs)
        let validator = try JSONSchemaValidator(path: Self.lineSchema)
        for line in lines {
            #expect(validator.validate(line).isEmpty, "\(validator.validate(line))")
            #expect(line["model"]!.stringValue == Self.demoModel && line["head"]!.stringValue == "ctc")
            guard let path = line["path"]!.stringValue, path != bad else { continue }
            let alone = try ModelRun.run(RunRequest(modelPath: Self.demoModel, inputPaths: [path], threads: 1))
            // Exact: the same code on the same samples, one input per forward pass.
            #expect(Self.entry(line) == alone.json["inputs"]!.arrayValue![0], "\(path)")
        }
        #expect(lines.last!["error"]!.stringValue == AudioError.unreadable(path: bad, reason: "Format not recognised").errorDescription)
    }

    @Test func resumeCutsATornLineAndRunsOnlyWhatIsMissing() throws {
        let scratch = try ScratchDirectory("manifest")
        let inputs = try Self.exampleAudio()
        let output = scratch.file("out.jsonl")
        _ = try Self.run(Self.demoModel, try Self.manifest(Array(inputs.prefix(4)), in: scratch, name: "first.txt"), output)
        let whole = try Data(contentsOf: URL(fileURLWithPath: output))
        let torn = Array("{\"path\":\"\(inputs[4])\",\"model\":\"x\",\"tra".utf8)
        let handle = try #require(FileHandle(forWritingAtPath: output))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(torn))
        try handle.close()
        #expect(throws: JSONLOutputError.exists(path: output)) {
            try Self.run(Self.demoModel, try Self.manifest(inputs, in: scratch), output)
        }
        let summary = try Self.run(Self.demoModel, try Self.manifest(inputs, in: scratch), output, resume: true)
        #expect(summary.skipped == 4 && summary.succeeded == inputs.count - 4 && summary.tornBytes == torn.count)
        let resumed = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(resumed.prefix(whole.count) == whole)  // the whole lines stay as they were
        #expect(try Self.lines(output).map { $0["path"]!.stringValue! } == inputs)  // each input once, in order
        let again = try Self.run(Self.demoModel, try Self.manifest(inputs, in: scratch), output, resume: true)
        #expect(again.skipped == inputs.count && again.succeeded == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == resumed)
    }

    @Test func outputsThatAreNotRunOutputsOrAreInputsAreRefused() throws {
        let scratch = try ScratchDirectory("manifest")
        let manifest = try Self.manifest(try Self.exampleAudio(), in: scratch)
        #expect(throws: OutputFileError.sameAsInput(path: manifest)) { try Self.run(Self.demoModel, manifest, manifest, resume: true) }
        let other = try scratch.write("other.jsonl", "{\"path\": \"a.wav\"}\n[1, 2]\n")
        #expect(throws: JSONLOutputError.badLine(path: other, line: 2, reason: "not a JSON object with a string 'path'")) {
            try Self.run(Self.demoModel, manifest, other, resume: true)
        }
    }

    @Test func shardsTakeEveryNthInputFromTheIth() throws {
        let scratch = try ScratchDirectory("manifest")
        let inputs = try Self.exampleAudio()
        let manifest = try Self.manifest(inputs, in: scratch)
        var seen: [String] = []
        for index in 0..<4 {
            let output = scratch.file("shard\(index).jsonl")
            _ = try Self.run(Self.demoModel, manifest, output, shard: try Shard(index: index, count: 4))
            let paths = try Self.lines(output).map { $0["path"]!.stringValue! }
            #expect(paths == stride(from: index, to: inputs.count, by: 4).map { inputs[$0] })
            seen += paths
        }
        #expect(seen.sorted() == inputs.sorted())
        #expect(try Shard(parsing: "2/5") == Shard(index: 2, count: 5))
        #expect(throws: ShardError.outOfRange(index: 5, count: 5)) { try Shard(parsing: "5/5") }
        #expect(throws: ShardError.outOfRange(index: 0, count: 0)) { try Shard(parsing: "0/0") }
        #expect(throws: ShardError.badText("1-4")) { try Shard(parsing: "1-4") }
    }

    @Test func batchesNeedAMaskAndNoGroupNormAndMatchRunsAlone() throws {
        let scratch = try ScratchDirectory("manifest")
        let golden = ["cls_weighted_stable_mask", "ctc_layer_stable_mask"].map { Fixtures.path("golden/" + $0) }
        #expect(throws: ManifestRunError.batchWithGroupNorm(model: "HF directory \(Self.demoModel)")) {
            try Self.run(Self.demoModel, try Self.manifest(try Self.exampleAudio(), in: scratch), scratch.file("a.jsonl"), batchSize: 2)
        }
        let noMask = Fixtures.path("golden/ctc_group_postln")
        #expect(throws: ManifestRunError.batchNeedsAttentionMask(model: "HF directory \(noMask)")) {
            try Self.run(noMask, try Self.manifest([noMask + "/input0.npy"], in: scratch), scratch.file("b.jsonl"), batchSize: 2)
        }
        let model = golden[0]
        let inputs = [model + "/input0.npy", model + "/input1.npy", golden[1] + "/input1.npy"]
        let output = scratch.file("batch.jsonl")
        let summary = try Self.run(model, try Self.manifest(inputs, in: scratch), output, batchSize: 2)
        #expect(summary.succeeded == 3)
        let lines = try Self.lines(output)
        #expect(lines.map { $0["path"]!.stringValue! }.sorted() == inputs.sorted())
        for line in lines {
            let alone = try ModelRun.run(RunRequest(modelPath: model, inputPaths: [line["path"]!.stringValue!], threads: 1))
            let expected = alone.json["inputs"]!.arrayValue![0]
            #expect(line["frames"] == expected["frames"] && line["label"] == expected["label"])
            // A masked batch changes only rounding: scores within 1e-5 of the input's run alone.
            for (got, want) in zip(line["scores"]!.arrayValue!, expected["scores"]!.arrayValue!) {
                #expect(got["id"] == want["id"] && abs(got["score"]!.doubleValue! - want["score"]!.doubleValue!) <= 1e-5)
            }
        }
    }

    @Test func chunkedLinesEqualTheChunkedRun() throws {
        let scratch = try ScratchDirectory("manifest")
        let inputs = try Self.exampleAudio()
        let output = scratch.file("chunks.jsonl")
        let settings = ChunkSettings(length: 1, stride: [0.2, 0.1])
        _ = try Self.run(Self.demoModel, try Self.manifest(inputs, in: scratch), output, chunk: settings)
        let report = try ChunkedRun.run(RunRequest(modelPath: Self.demoModel, inputPaths: inputs, threads: 1), chunks: settings)
        #expect(try JSONSchemaValidator(path: Self.runSchema).validate(report.json).isEmpty)
        let validator = try JSONSchemaValidator(path: Self.lineSchema)
        for (line, expected) in zip(try Self.lines(output), report.json["inputs"]!.arrayValue!) {
            #expect(validator.validate(line).isEmpty)
            #expect(Self.entry(line) == expected)
            #expect(line["chunks"]!.intValue! > 1 || line["samples"]!.intValue! <= 16_000)
        }
    }

    @Test func inputsBeyondTheMemoryLimitAreRefusedWithAHint() throws {
        let scratch = try ScratchDirectory("manifest")
        // A minute of audio: the examples over and over.
        var samples: [Float] = []
        for path in try Self.exampleAudio() where !path.contains("44k") { samples += try AudioFile.read(path: path).samples }
        let minute = Array(repeatElement(samples, count: 60 * 16_000 / samples.count + 1).joined().prefix(60 * 16_000))
        let long = try scratch.write("minute.wav", WAVBytes.pcm16(minute, channels: 1, rate: 16_000))
        let short = try Self.exampleAudio()[0]
        let model = try SpeechModel(path: Self.demoModel, threads: 1)
        let memory = ForwardMemory(model: model)
        let limit = Int(memory.bytes(samples: 45 * 16_000, head: .ctc))
        let fitting = memory.maximumSamples(limitBytes: limit, head: .ctc)
        #expect(memory.bytes(samples: fitting, head: .ctc) <= Double(limit) && memory.bytes(samples: fitting + 1, head: .ctc) > Double(limit))
        #expect(throws: ForwardMemoryError.self) {
            try ModelRun.run(RunRequest(modelPath: Self.demoModel, inputPaths: [long], threads: 1, memoryLimit: limit))
        }
        let output = scratch.file("out.jsonl")
        let summary = try Self.run(Self.demoModel, try Self.manifest([short, long], in: scratch), output, memoryLimit: limit)
        #expect(summary.succeeded == 1 && summary.failed == 1)
        let error = try #require(try Self.lines(output)[1]["error"]?.stringValue)
        #expect(error.hasPrefix(long + ": 60.0 s of audio would need about") && error.hasSuffix("--chunk-length 30"), "\(error)")
        // In chunks of 20 s it fits: chunks start every 20 s less the two default strides of 20 / 6 s.
        let chunked = scratch.file("chunked.jsonl")
        let fits = try Self.run(Self.demoModel, try Self.manifest([long], in: scratch), chunked, chunk: ChunkSettings(length: 20),
                                memoryLimit: limit)
        let plan = try ChunkPlan(ChunkSettings(length: 20), samplingRate: 16_000, frameSamples: 320)
        let chunks = (0...).first { $0 * plan.step + plan.chunkSamples >= minute.count }! + 1
        let line = try Self.lines(chunked)[0]
        #expect(fits.succeeded == 1 && line["chunks"]?.intValue == chunks)
    }
}

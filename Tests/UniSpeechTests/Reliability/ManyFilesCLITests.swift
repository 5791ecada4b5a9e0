import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCore

/// `unispeech run --manifest` as a scheduler runs it: shards chosen by Slurm's and Kubernetes' variables in separate
/// processes, a run killed mid-way and resumed, exit statuses and one-line usage errors.
@Suite struct ManyFilesCLITests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static let demoModel = repository.appendingPathComponent("examples/unispeech-digits-ctc").path

    /// A directory of `copies` copies of each example file.
    static func corpus(in scratch: ScratchDirectory, copies: Int) throws -> String {
        let examples = repository.appendingPathComponent("examples/audio").path
        let directory = scratch.file("corpus")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for copy in 0..<copies {
            for name in try FileManager.default.contentsOfDirectory(atPath: examples) where name.hasSuffix(".wav") && !name.contains("44k") {
                try FileManager.default.copyItem(atPath: examples + "/" + name, toPath: directory + "/\(copy)-" + name)
            }
        }
        return directory
    }

    /// The lines of a JSONL file by input path; records an issue for a path seen twice.
    static func linesByPath(_ paths: [String]) throws -> [String: JSONValue] {
        var lines: [String: JSONValue] = [:]
        for path in paths {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.isEmpty || text.hasSuffix("\n"), "\(path) ends in a torn line")
            for line in text.split(separator: "\n") {
                let json = try JSONValue.parse(String(line), source: path)
                let input = json["path"]!.stringValue!
                #expect(lines[input] == nil, "\(input) has two lines")
                lines[input] = json
            }
        }
        return lines
    }

    @Test func slurmAndKubernetesShardsTogetherAreTheWholeRunEachInputOnce() throws {
        let scratch = try ScratchDirectory("shards")
        let corpus = try Self.corpus(in: scratch, copies: 2)
        let whole = scratch.file("whole.jsonl")
        let full = try CLI.run(["run", Self.demoModel, "--manifest", corpus, "--jsonl", whole, "--threads", "1"])
        #expect(full.status == 0, "\(full.stderr)")
        let expected = try Self.linesByPath([whole])
        #expect(expected.count == 14)
        // Slurm: sbatch --array=1-3 (ids from 1); Kubernetes: an Indexed Job of 3 completions.
        let runs: [(prefix: String, extra: [String])] =
            (1...3).map { ("export SLURM_ARRAY_TASK_ID=\($0) SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3", []) }
            + (0..<3).map { ("export JOB_COMPLETION_INDEX=\($0)", ["--shards", "3"]) }
        let results = runs.map { _ in Locked<CLI.Result?>(nil) }
        let parts = runs.indices.map { scratch.file("part\($0).jsonl") }
        DispatchQueue.concurrentPerform(iterations: runs.count) { index in
            let result = try? CLI.run(["run", Self.demoModel, "--manifest", corpus, "--jsonl", parts[index],
                                       "--threads", "1"] + runs[index].extra, shellPrefix: runs[index].prefix)
            results[index].set(result)
        }
        for (index, result) in results.enumerated() {
            let result = try #require(result.get())
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("shard \(index % 3)/3 (from \(index < 3 ? "SLURM_ARRAY_TASK_ID" : "JOB_COMPLETION_INDEX"))"))
        }
        for scheduler in [0..<3, 3..<6] {
            let union = try Self.linesByPath(scheduler.map { parts[$0] })
            #expect(union == expected)
        }
    }

    @Test func aKilledRunLeavesWholeLinesAndResumeCompletesIt() throws {
        let scratch = try ScratchDirectory("kill")
        let corpus = try Self.corpus(in: scratch, copies: 6)
        let output = scratch.file("out.jsonl")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLI.binary())
        process.arguments = ["run", Self.demoModel, "--manifest", corpus, "--jsonl", output, "--threads", "1"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline {
            if let text = try? String(contentsOfFile: output, encoding: .utf8), text.split(separator: "\n").count >= 5 { break }
            usleep(5_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let killed = try Self.linesByPath([output])
        #expect(killed.count >= 5 && killed.count < 42, "\(killed.count) lines when killed")
        let resumed = try CLI.run(["run", Self.demoModel, "--manifest", corpus, "--jsonl", output, "--resume", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("\(killed.count) already in the output"), "\(resumed.stderr)")
        let all = try Self.linesByPath([output])
        #expect(all.count == 42)
        for (path, line) in killed { #expect(all[path] == line) }
    }

    @Test func aFailedInputExitsOneAndBadUsageExitsTwo() throws {
        let scratch = try ScratchDirectory("usage")
        let list = try scratch.write("list.txt", "\(Self.repository.path)/examples/audio/word-6-one.wav\nmissing.wav\n")
        let failed = try CLI.run(["run", Self.demoModel, "--manifest", list, "--jsonl", scratch.file("a.jsonl"), "--threads", "1"])
        #expect(failed.status == 1 && failed.stderr.contains("1 done, 1 failed"), "\(failed.stderr)")
        let lines = try Self.linesByPath([scratch.file("a.jsonl")])
        #expect(lines[scratch.file("missing.wav")]?["error"]?.stringValue == "\(scratch.file("missing.wav")): no such file")

        let out = scratch.file("b.jsonl")
        for (arguments, message) in [
            (["--manifest", list, "--jsonl", out, "--shard", "3/3"], "shard 3/3 does not exist"),
            (["--manifest", list], "--manifest needs --jsonl"),
            (["--manifest", list, "--jsonl", out, "--batch-size", "2"], "batches need a feature encoder without group norm"),
            (["--manifest", list, "--jsonl", out, "--shards", "2"], "--shards needs SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"),
            (["x.wav", "--stride", "1"], "--stride needs --chunk-length"),
            (["x.wav", "--chunk-length", "2", "--stride", "1"], "must be longer than its left and right strides"),
            (["\(Self.repository.path)/examples/audio/word-6-one.wav", "--memory-limit", "0.1"], "run it in overlapping chunks with --chunk-length"),
        ] {
            let result = try CLI.run(["run", Self.demoModel] + arguments)
            #expect(result.status == 2 && !result.crashed && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

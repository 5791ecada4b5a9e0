import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCore

/// Model ids on the command line: every command that takes a model resolves `ORG/NAME[@REVISION]` in the local hub
/// cache the environment names (as huggingface_hub chooses it), never over the network.
@Suite struct HubCacheCLITests {
    static let id = "facebook/wav2vec2-base-960h"
    static let classifier = Fixtures.path("family/wav2vec2_cls_group_mask")
    static let hubertModel = Fixtures.path("family/hubert_ctc_layer_mask")
    static let cacheVariables = ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"]

    /// Runs the binary in `directory` with HOME set to it, the cache variables cleared, then `environment` set.
    static func run(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> CLI.Result {
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let exports = (["HOME": directory].merging(environment) { $1 }).sorted { $0.key < $1.key }
            .map { "export \($0.key)=\(quoted($0.value))" }
        let prefix = (["cd \(quoted(directory))", "unset " + cacheVariables.joined(separator: " ")] + exports).joined(separator: "; ")
        return try CLI.run(arguments, shellPrefix: prefix)
    }

    @Test func everyCommandTakesAnId() throws {
        let scratch = try ScratchDirectory("hub-cli")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        let snapshot = try cache.add(Self.id, commit: FakeHubCache.commit(1), from: Self.classifier)
        let environment = ["HF_HUB_CACHE": cache.root]
        let input = Self.classifier + "/input0.npy"

        let inspect = try Self.run(["inspect", Self.id, "--json"], in: scratch.path, environment: environment)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let report = try JSONValue.parse(inspect.stdout, source: "inspect")
        #expect(report["path"] == .string(snapshot))
        #expect(report["architecture"] == .string("Wav2Vec2ForSequenceClassification"))

        let byId = try Self.run(["run", Self.id, input, "--json", "--threads", "1"], in: scratch.path, environment: environment)
        let byPath = try Self.run(["run", snapshot, input, "--json", "--threads", "1"], in: scratch.path)
        #expect(byId.status == 0 && byPath.status == 0, "\(byId.stderr)")
        func withoutTime(_ text: String) throws -> JSONValue {  // the forward's seconds differ from run to run
            .object(try JSONValue.parse(text, source: "run").objectMembers!.filter { $0.key != "seconds" })
        }
        #expect(try withoutTime(byId.stdout) == withoutTime(byPath.stdout))

        let native = scratch.file("model.unispeech")
        let convert = try Self.run(["convert", Self.id + "@main", "-o", native, "--dtype", "int8"], in: scratch.path, environment: environment)
        #expect(convert.status == 0, "\(convert.stderr)")
        let verify = try Self.run(["verify", native, "--reference", Self.id + "@" + FakeHubCache.commit(1), "--threads", "1"],
                                  in: scratch.path, environment: environment)
        #expect(verify.status == 0, "\(verify.stderr)\(verify.stdout)")
    }

    @Test func evalTakesAnId() throws {
        let scratch = try ScratchDirectory("hub-cli")
        let cache = try FakeHubCache(root: scratch.file("home/.cache/huggingface/hub"))
        try cache.add("unispeech/digits-ctc", commit: FakeHubCache.commit(2), from: EvalGoldenTests.ctcModel)
        let result = try Self.run(["eval", Fixtures.path("eval/ctc.jsonl"), "unispeech/digits-ctc", "--json", "--threads", "1"],
                                  in: scratch.path, environment: ["HOME": scratch.file("home")])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue.parse(result.stdout, source: "stdout")
        #expect(json["models"]?.arrayValue?.first?["ctc"]?["wer"] == EvalGoldenTests.expected["ctc"]!["corpus"]!["wer"])
    }

    /// huggingface_hub's order: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
    /// ~/.cache/huggingface/hub; each cache holds the id at its own commit.
    @Test func theCacheIsTheOneHuggingfaceHubUses() throws {
        let scratch = try ScratchDirectory("hub-cli")
        let roots = ["hub-cache", "legacy-cache", "hf-home/hub", "xdg/huggingface/hub", ".cache/huggingface/hub"]
        for (index, root) in roots.enumerated() {
            try FakeHubCache(root: scratch.file(root)).add(Self.id, commit: FakeHubCache.commit(index), from: Self.classifier)
        }
        var environment = ["HF_HUB_CACHE": scratch.file("hub-cache"), "HUGGINGFACE_HUB_CACHE": scratch.file("legacy-cache"),
                           "HF_HOME": scratch.file("hf-home"), "XDG_CACHE_HOME": scratch.file("xdg")]
        for (index, variable) in (Self.cacheVariables + ["HOME"]).enumerated() {
            let result = try Self.run(["inspect", Self.id, "--json"], in: scratch.path, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            let expected = scratch.file(roots[index]) + "/models--facebook--wav2vec2-base-960h/snapshots/" + FakeHubCache.commit(index)
            #expect(try JSONValue.parse(result.stdout, source: "inspect")["path"] == .string(expected), "with \(variable)")
            environment.removeValue(forKey: variable)
        }
        // A leading ~ is the home directory, as huggingface_hub's expanduser makes it.
        let tilde = try Self.run(["inspect", Self.id, "--json"], in: scratch.path, environment: ["HF_HOME": "~/hf-home"])
        #expect(try JSONValue.parse(tilde.stdout, source: "inspect")["path"]
                == .string(scratch.file("hf-home/hub/models--facebook--wav2vec2-base-960h/snapshots/" + FakeHubCache.commit(2))))
    }

    @Test func anIdNotInTheCacheIsOneLineNamingEveryPathTried() throws {
        let scratch = try ScratchDirectory("hub-cli")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        for command in [["inspect"], ["run"], ["convert"], ["verify", "--reference", Self.classifier], ["eval", Fixtures.path("eval/ctc.jsonl")]] {
            var arguments = command.count == 3 ? [command[0], Self.id] + command[1...] : command + [Self.id]
            if command == ["run"] { arguments.append(Self.classifier + "/input0.npy") }
            if command == ["convert"] { arguments += ["-o", scratch.file("out.unispeech")] }
            let result = try Self.run(arguments, in: scratch.path, environment: ["HF_HUB_CACHE": cache.root])
            #expect(result.status == 2 && !result.crashed, "\(command)")
            #expect(result.stderrLines == ["unispeech: \(Self.id): no such file or directory, and not in the local HuggingFace cache (tried \(Self.id), \(cache.root)/models--facebook--wav2vec2-base-960h/refs/main); nothing is downloaded"],
                    "\(command)")
        }
        #expect(try scratch.entries() == ["hub"])
    }

    @Test func aLocalPathWinsOverAnId() throws {
        let scratch = try ScratchDirectory("hub-cli")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        try cache.add(Self.id, commit: FakeHubCache.commit(1), from: Self.classifier)
        try FileManager.default.createDirectory(atPath: scratch.file("facebook"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.hubertModel, toPath: scratch.file(Self.id))
        let result = try Self.run(["inspect", Self.id, "--json"], in: scratch.path, environment: ["HF_HUB_CACHE": cache.root])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONValue.parse(result.stdout, source: "inspect")
        #expect(report["path"] == .string(Self.id))
        #expect(report["model_type"] == .string("hubert"))
    }

    @Test func hostileIdsAreRefused() throws {
        let scratch = try ScratchDirectory("hub-cli")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        try cache.add("../x", commit: FakeHubCache.commit(1), from: Self.classifier)
        let environment = ["HF_HUB_CACHE": cache.root]
        for path in ["../x", "/x", "x/"] {
            let result = try Self.run(["inspect", path], in: scratch.path, environment: environment)
            #expect(result.status == 2 && result.stderrLines == ["unispeech: \(path): no such file or directory"], "\(result.stderr)")
        }
        let revision = try Self.run(["inspect", Self.id + "@../../x"], in: scratch.path, environment: environment)
        #expect(revision.status == 2)
        #expect(revision.stderrLines == ["unispeech: \(Self.id)@../../x: revision '../../x' is neither a commit hash (40 hex digits) nor a ref name (letters, digits, '.', '_', '-' in '/'-separated parts)"])
    }
}

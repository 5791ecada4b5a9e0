import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore
@testable import UniSpeechModels

/// `unispeech run --hidden-states --output`: every hidden state as transformers' output_hidden_states=True gives
/// them, against the golden fixtures of every family (scripts/make_family_golden.py, scripts/make_golden.py).
@Suite struct HiddenStatesTests {
    /// Runs the CLI on the two golden inputs of `directory` with `--hidden-states --output` and returns the file's
    /// tensors by name.
    static func runWritingHiddenStates(_ directory: String, head: ModelHead, language: String?,
                                       scratch: ScratchDirectory) throws -> [String: (shape: [Int], values: [Float])] {
        let output = scratch.file("out-\(language ?? "own").safetensors")
        let arguments = ["run", directory, directory + "/input0.npy", directory + "/input1.npy", "--head", head.rawValue,
                         "--output", output, "--hidden-states", "--threads", "2"] + (language.map { ["--target-lang", $0] } ?? [])
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(directory): \(result.stderr)")
        let reader = try SafetensorsReader(path: output)
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for info in reader.tensors { tensors[info.name] = (info.shape, try reader.floats(info.name)) }
        return tensors
    }

    /// Compares every `hidden_states.N` of `reference` with what run wrote; the names must match one for one.
    static func expectHiddenStates(_ written: [String: (shape: [Int], values: [Float])], equal reference: SafetensorsReader,
                                   label: String) throws {
        let expectedNames = reference.tensors.map(\.name).filter { $0.hasPrefix("hidden_states.") }
        #expect(!expectedNames.isEmpty, "\(label): the reference has no hidden states")
        #expect(Set(written.keys.filter { $0.hasPrefix("hidden_states.") }) == Set(expectedNames), "\(label)")
        #expect(expectedNames.sorted() == (0..<expectedNames.count).map(OutputName.hiddenState).sorted())
        for name in expectedNames {
            let tensor = try #require(written[name], "\(label): \(name) missing")
            #expect(tensor.shape == reference.info(name)?.shape, "\(label) \(name)")
            // fp32 parity target: max abs error <= 1e-4 x max |reference|.
            let error = familyRelativeError(tensor.values, try reference.floats(name))
            #expect(error <= 1e-4, "\(label) \(name): relative max error \(error)")
        }
    }

    @Test(arguments: FamilyCase.all) func everyFamilyCaseMatchesTransformers(_ golden: FamilyCase) throws {
        let scratch = try ScratchDirectory("hidden-states")
        defer { scratch.remove() }
        for (file, language) in golden.references {
            let written = try Self.runWritingHiddenStates(golden.directory, head: golden.head, language: language, scratch: scratch)
            let reference = try SafetensorsReader(path: golden.directory + "/" + file)
            try Self.expectHiddenStates(written, equal: reference, label: "\(golden.name) \(file)")
            #expect(Set(written.keys) == Set(reference.tensors.map(\.name)).subtracting(["input_values", "attention_mask"]),
                    "the head's outputs and the hidden states, nothing else")
        }
    }

    @Test(arguments: goldenCases) func goldenModelsMatchTransformers(name: String) throws {
        let scratch = try ScratchDirectory("hidden-states")
        defer { scratch.remove() }
        let golden = try GoldenCase(name)
        let model = try UniSpeechModel(bundle: golden.bundle)
        let written = try Self.runWritingHiddenStates(golden.directory, head: model.defaultHead, language: nil, scratch: scratch)
        try Self.expectHiddenStates(written, equal: golden.reference, label: name)
    }

    @Test func hiddenStatesNeedAnOutputFileAndAppearInTheJSON() throws {
        let scratch = try ScratchDirectory("hidden-states")
        defer { scratch.remove() }
        let directory = Fixtures.path("golden/ctc_group_postln")
        let alone = try CLI.run(["run", directory, directory + "/input0.npy", "--hidden-states"])
        #expect(alone.status == 2 && alone.stderr.contains("--hidden-states needs --output"))
        let result = try CLI.run(["run", directory, directory + "/input0.npy", "--hidden-states", "--output",
                                  scratch.file("out.safetensors"), "--json", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue.parse(result.stdout, source: "stdout")
        #expect(RunInputTests.schema.validate(json) == [])
        #expect(json["outputs"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
                == ["logits", "hidden_states.0", "hidden_states.1", "hidden_states.2"])
    }
}

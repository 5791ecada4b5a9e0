import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore
@testable import UniSpeechFormat
@testable import UniSpeechModels

/// A family golden case by name.
func familyCase(_ name: String) -> FamilyCase { FamilyCase.all.first { $0.name == name }! }

/// run, inspect, convert and the language adapters on the family fixtures.
@Suite struct FamilyToolTests {
    static func run(_ name: String, head: ModelHead? = nil, language: String? = nil) throws -> RunReport {
        let directory = familyCase(name).directory
        return try ModelRun.run(RunRequest(modelPath: directory, inputPaths: [directory + "/input0.npy", directory + "/input1.npy"],
                                           head: head, threads: 1, targetLanguage: language))
    }

    @Test func frameClassificationGivesTheRunsOfTransformersFrameLabels() throws {
        let golden = familyCase("unispeech_sat_frame_group_mask")
        let report = try Self.run(golden.name)
        try RunOutputTests.expectValid(report)
        let logits = try #require(try golden.expected("reference.safetensors")["logits"])  // [2, T, L] from transformers
        let (frames, labels) = (logits.shape[1], logits.shape[2])
        for item in 0..<2 {
            guard case let .segments(segments) = report.meanings[item] else {
                Issue.record("input \(item) has no segments")
                continue
            }
            let best = (0..<report.output.frameLengths[item]).map { t in
                HeadDecoding.argmax(logits.values, in: ((item * frames + t) * labels)..<((item * frames + t + 1) * labels))
            }
            #expect(segments.flatMap { Array(repeating: $0.id, count: $0.endFrame - $0.startFrame) } == best)
            #expect(zip(segments, segments.dropFirst()).allSatisfy { $0.endFrame == $1.startFrame && $0.id != $1.id })
            // conv strides 5, 2, 2: 20 samples per frame at 16 kHz.
            #expect(segments.allSatisfy { $0.startTime == Double($0.startFrame) * 20 / 16000 && $0.label == "LABEL_\($0.id)" })
        }
        #expect(report.text.contains("segment"))
        #expect(report.json["inputs"]?.arrayValue?.first?["segments"] != nil)
    }

    @Test func xvectorsGiveTheCosineSimilarityOfEachPair() throws {
        let golden = familyCase("wavlm_xvector_group_mask")
        let report = try Self.run(golden.name)
        try RunOutputTests.expectValid(report)
        let embeddings = try #require(try golden.expected("reference.safetensors")["embeddings"])  // [2, X] from transformers
        let width = embeddings.shape[1]
        let expected = RunDecoding.cosineSimilarity(Array(embeddings.values[0..<width]), Array(embeddings.values[width...]))
        #expect(report.similarities.count == 1)
        // Forward parity is 1e-4 of the largest value; the cosine of two such embeddings within 1e-3.
        #expect(abs(report.similarities[0].cosine - expected) <= 1e-3)
        #expect(report.text.contains("cosine similarity"))
        #expect(report.json["similarities"]?.arrayValue?.count == 1)
        let alone = try ModelRun.run(RunRequest(modelPath: golden.directory, inputPaths: [golden.directory + "/input0.npy"], threads: 1))
        #expect(alone.similarities.isEmpty && alone.json["similarities"] == nil)
    }

    @Test func everyFamilyHeadRunsAndValidates() throws {
        for golden in FamilyCase.all {
            let report = try Self.run(golden.name)
            #expect(report.head == golden.head, "\(golden.name)")
            try RunOutputTests.expectValid(report)
        }
    }

    @Test func languageAdapterReplacesTheAdaptersAndTheVocabulary() throws {
        let golden = familyCase("wav2vec2_ctc_mms_layer_mask")
        let bundle = try ModelBundle.open(path: golden.directory, targetLanguage: "xyz")
        #expect(bundle.targetLanguage == "xyz" && bundle.config.vocabSize == 5)
        #expect(bundle.config.raw["vocab_size"]?.intValue == 5)
        let report = try Self.run(golden.name, language: "xyz")
        #expect(report.output["logits"]?.shape == [2, 11, 5])

        #expect(throws: LanguageAdapterError.noAdapterFile(directory: golden.directory, language: "abc",
                                                            tried: ["adapter.abc.safetensors", "adapter.abc.bin"])) {
            try ModelBundle.open(path: golden.directory, targetLanguage: "abc")
        }
        #expect(throws: LanguageAdapterError.invalidLanguage(language: "../x")) {
            try ModelBundle.open(path: golden.directory, targetLanguage: "../x")
        }
        let hubert = familyCase("hubert_ctc_layer_mask").directory
        #expect(throws: LanguageAdapterError.notSupported(model: "HF directory " + hubert, family: "hubert")) {
            try ModelBundle.open(path: hubert, targetLanguage: "xyz")
        }
        let postLN = familyCase("wav2vec2_cls_group_mask")
        #expect(throws: LanguageAdapterError.noAdapterLayers(path: postLN.directory + "/config.json")) {
            try ModelBundle.open(path: postLN.directory, targetLanguage: "xyz")
        }
    }

    @Test func adapterWithStrayTensorsIsRefused() throws {
        let golden = familyCase("wav2vec2_ctc_mms_layer_mask")
        let bundle = try ModelBundle.open(path: golden.directory)
        let adapter = try CanonicalTensorSource(StoredWeights.open(file: golden.directory + "/adapter.xyz.safetensors").source,
                                                family: .wav2vec2)
        let stray = InMemoryTensors(entries: adapter.tensors.map { ($0.name, $0.shape, try! adapter.floats($0.name)) }
            + [("encoder.layers.0.attention.q_proj.weight", [8, 8], [Float](repeating: 0, count: 64))])
        #expect(throws: LanguageAdapterError.unexpectedTensors(file: "a", names: ["encoder.layers.0.attention.q_proj.weight"])) {
            try LanguageAdapter.apply(stray, file: "a", language: "xyz", to: bundle)
        }
        let partial = InMemoryTensors(entries: adapter.tensors.dropFirst().map { ($0.name, $0.shape, try! adapter.floats($0.name)) })
        #expect(throws: LanguageAdapterError.missingTensors(file: "a", names: [adapter.tensors[0].name])) {
            try LanguageAdapter.apply(partial, file: "a", language: "xyz", to: bundle)
        }
    }

    @Test func nestedVocabularyFollowsTheLanguage() throws {
        let golden = familyCase("wav2vec2_ctc_mms_layer_mask")
        var bundle = try ModelBundle.open(path: golden.directory)
        bundle.sidecars[.vocabulary] = try JSONValue.parse(
            #"{"eng": {"<pad>": 0, "|": 1, "e": 2}, "xyz": {"<pad>": 0, "|": 1, "a": 2, "b": 3, "c": 4}}"#, source: "vocab.json")
        let adapter = try CanonicalTensorSource(StoredWeights.open(file: golden.directory + "/adapter.xyz.safetensors").source,
                                                family: .wav2vec2)
        let adapted = try LanguageAdapter.apply(adapter, file: "adapter.xyz.safetensors", language: "xyz", to: bundle)
        #expect(adapted.sidecars.tokenizerConfig?["target_lang"]?.stringValue == "xyz")
        #expect(try adapted.tokenizer()?.decode([2, 3, 0, 4]).text == "abc")
    }

    @Test func convertBuildsTheLanguageInAndRecordsTheFamily() throws {
        let scratch = try ScratchDirectory("family-tools")
        defer { scratch.remove() }
        let golden = familyCase("wav2vec2_ctc_mms_layer_mask")
        let path = try golden.converted(.int8, language: "xyz", scratch: scratch)
        let header = try NativeReader(path: path).header
        #expect(header.modelType == "wav2vec2" && header.targetLanguage == "xyz")
        #expect(header.config["vocab_size"]?.intValue == 5)
        #expect(header.source["files"]?.arrayValue?.contains { $0["name"]?.stringValue == "adapter.xyz.safetensors" } == true)
        #expect(try ModelBundle.open(path: path).targetLanguage == "xyz")
        #expect(try ModelBundle.open(path: path, targetLanguage: "xyz").config.vocabSize == 5)
        #expect(throws: LanguageAdapterError.builtInLanguage(path: path, builtIn: "xyz", asked: "eng")) {
            try ModelBundle.open(path: path, targetLanguage: "eng")
        }
        let plain = try golden.converted(.f32, language: nil, scratch: scratch)
        #expect(try NativeReader(path: plain).header.targetLanguage == nil)
        #expect(throws: LanguageAdapterError.builtInLanguage(path: plain, builtIn: nil, asked: "xyz")) {
            try ModelBundle.open(path: plain, targetLanguage: "xyz")
        }
        let inspected = InspectReport(try Inspector.open(path: path))
        #expect(inspected.family == .wav2vec2 && inspected.model.extras.contains { $0.key == "target_lang" })

        let run = try InspectCommandTests.run(["run", path, golden.directory + "/input0.npy", "--target-lang", "xyz", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let refused = try InspectCommandTests.run(["run", plain, golden.directory + "/input0.npy", "--target-lang", "xyz"])
        #expect(refused.status == 2 && refused.stderr.contains("has no language adapter built in"))
        let converted = try InspectCommandTests.run(["convert", golden.directory, "-o", scratch.file("cli.unispeech"), "--dtype", "f16",
                                                     "--target-lang", "xyz", "--verify"])
        #expect(converted.status == 0, "\(converted.stderr)")
    }

    @Test func inspectNamesTheFamilyAndHeads() throws {
        for golden in FamilyCase.all {
            let report = InspectReport(try Inspector.open(path: golden.directory))
            #expect(report.family?.rawValue == golden.modelType, "\(golden.name)")
            #expect(report.heads == (golden.head == .base ? [.base] : [.base, golden.head]), "\(golden.name)")
            #expect(InspectTests.schema.validate(report.json()) == [], "\(golden.name)")
            let lines = report.text(includeTensors: false).split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("model_type") && $0.hasSuffix(" " + golden.modelType) }, "\(golden.name)")
        }
        let file = familyCase("wavlm_ctc_layer").directory + "/model.safetensors"
        let alone = InspectReport(try Inspector.open(path: file))
        #expect(alone.family == .wavlm && alone.architecture == "WavLMForCTC" && alone.architectureSource == "tensors")
    }

    @Test func quantisationRulesCoverTheNewLayerKinds() throws {
        let scratch = try ScratchDirectory("family-tools")
        defer { scratch.remove() }
        let expected: [String: [String: DType]] = [
            "wavlm_xvector_group_mask": ["tdnn.0.kernel.weight": .i8, "feature_extractor.weight": .i8, "classifier.weight": .f32,
                                         "encoder.layers.1.attention.gru_rel_pos_linear.weight": .f32,
                                         "encoder.layers.0.attention.rel_attn_embed.weight": .f32,
                                         "encoder.layers.0.attention.gru_rel_pos_const": .f32, "objective.weight": .f32],
            "wav2vec2_base_adapter_group": ["adapter.proj.weight": .i8, "adapter.layers.1.conv.weight": .i8,
                                            "adapter.proj_layer_norm.weight": .f32],
            "wav2vec2_ctc_mms_layer_mask": ["encoder.layers.0.adapter_layer.linear_1.weight": .f16,
                                            "encoder.layers.1.adapter_layer.linear_2.weight": .f16,
                                            "encoder.layers.0.adapter_layer.norm.weight": .f32],
            "hubert_base_batchnorm_layer": ["encoder.pos_conv_embed.conv.weight": .f16, "encoder.pos_conv_embed.batch_norm.running_var": .f32],
            "data2vec_audio_base_mask": ["encoder.pos_conv_embed.layers.2.conv.weight": .f16],
        ]
        for (name, storages) in expected {
            let reader = try NativeReader(path: try familyCase(name).converted(.int8, language: nil, scratch: scratch))
            for (tensor, dtype) in storages { #expect(reader.info(tensor)?.dtype == dtype, "\(name) \(tensor)") }
        }
        let hubert = try NativeReader(path: try familyCase("hubert_base_batchnorm_layer").converted(.f32, language: nil, scratch: scratch))
        #expect(hubert.info("encoder.pos_conv_embed.batch_norm.num_batches_tracked") == nil, "the i64 bookkeeping scalar is left out")
    }
}

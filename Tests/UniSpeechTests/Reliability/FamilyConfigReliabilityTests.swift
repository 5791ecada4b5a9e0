import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCore
@testable import UniSpeechModels

/// One family golden case with config.json fields replaced, and the words the error must contain.
struct MutatedConfig: CustomTestStringConvertible, Sendable {
    let fixture: String
    /// Field -> JSON text of the new value.
    let fields: [String: String]
    let expected: String
    var testDescription: String { "\(fixture) \(fields.keys.sorted().joined(separator: ", "))" }

    static let all: [MutatedConfig] = [
        MutatedConfig(fixture: "unispeech_base_group", fields: ["num_hidden_layers": "1000000000"],
                      expected: "field 'num_hidden_layers' is 1000000000 but the weights hold 2 encoder layers"),
        MutatedConfig(fixture: "hubert_ctc_layer_mask", fields: ["num_hidden_layers": "2147483648"],
                      expected: "field 'num_hidden_layers' must be positive and at most 2147483647"),
        MutatedConfig(fixture: "wav2vec2_cls_group_mask", fields: ["conv_dim": "[6, 8, 6, 6]", "conv_stride": "[5, 2, 2, 2]",
                                                                    "conv_kernel": "[10, 3, 3, 3]"],
                      expected: "field 'conv_dim' has 4 entries but the weights hold 3 feature-encoder conv layers"),
        MutatedConfig(fixture: "wav2vec2_cls_group_mask", fields: ["conv_stride": "[65536, 65536, 2]"],
                      expected: "field 'conv_stride' gives more than 2147483647 samples per frame"),
        MutatedConfig(fixture: "wav2vec2_cls_group_mask", fields: ["num_attention_heads": "4294967296"],
                      expected: "field 'num_attention_heads' must be positive and at most"),
        MutatedConfig(fixture: "wav2vec2_ctc_mms_layer_mask", fields: ["vocab_size": "-7"],
                      expected: "field 'vocab_size' must be positive"),
        MutatedConfig(fixture: "wav2vec2_ctc_mms_layer_mask", fields: ["adapter_attn_dim": "0"],
                      expected: "field 'adapter_attn_dim' must be positive"),
        MutatedConfig(fixture: "wav2vec2_base_adapter_group", fields: ["num_adapter_layers": "1000000"],
                      expected: "field 'num_adapter_layers' is 1000000 but the weights hold 2 adapter conv layers"),
        MutatedConfig(fixture: "wav2vec2_base_adapter_group", fields: ["adapter_stride": "0"],
                      expected: "field 'adapter_stride' must be positive"),
        MutatedConfig(fixture: "wav2vec2_base_adapter_group", fields: ["output_hidden_size": "-1"],
                      expected: "field 'output_hidden_size' must be positive"),
        MutatedConfig(fixture: "wav2vec2_cls_group_mask", fields: ["add_adapter": "true"],
                      expected: "field 'add_adapter' must be false for the classification head"),
        MutatedConfig(fixture: "wav2vec2_xvector_group", fields: ["tdnn_kernel": "[3, 3]"],
                      expected: "field 'tdnn_dim' has 3 entries but tdnn_kernel has 2"),
        MutatedConfig(fixture: "wav2vec2_xvector_group", fields: ["tdnn_dim": "[6, 6, 8, 8]", "tdnn_kernel": "[3, 3, 1, 1]",
                                                                   "tdnn_dilation": "[1, 2, 1, 1]"],
                      expected: "field 'tdnn_dim' has 4 entries but the weights hold 3 TDNN layers"),
        MutatedConfig(fixture: "wav2vec2_xvector_group", fields: ["tdnn_dilation": "[1, 0, 1]"],
                      expected: "field 'tdnn_dilation' must hold positive integers"),
        MutatedConfig(fixture: "data2vec_audio_xvector_mask", fields: ["xvector_output_dim": "0"],
                      expected: "field 'xvector_output_dim' must be positive"),
        MutatedConfig(fixture: "wavlm_ctc_layer", fields: ["num_buckets": "2"],
                      expected: "field 'num_buckets' must be at least 4"),
        MutatedConfig(fixture: "wavlm_base_group_mask", fields: ["max_bucket_distance": "4"],
                      expected: "field 'max_bucket_distance' must be at least 5"),
        MutatedConfig(fixture: "data2vec_audio_base_mask", fields: ["num_conv_pos_embeddings": "1000000000"],
                      expected: "field 'num_conv_pos_embeddings' is 1000000000 but the weights hold 3 positional conv layers"),
        MutatedConfig(fixture: "data2vec_audio_frame", fields: ["conv_pos_kernel_size": "0"],
                      expected: "field 'conv_pos_kernel_size' must be positive"),
        MutatedConfig(fixture: "unispeech_pretraining_layer", fields: ["num_codevector_groups": "0"],
                      expected: "field 'num_codevector_groups' must be positive"),
        MutatedConfig(fixture: "wav2vec2_cls_group_mask", fields: ["model_type": "\"hubert\""],
                      expected: "field 'model_type' is 'hubert' but the weights are named for wav2vec2 ('wav2vec2.' prefix)"),
        MutatedConfig(fixture: "hubert_base_group", fields: ["model_type": "\"whisper\""],
                      expected: "field 'model_type' names 'whisper', not one of unispeech, wav2vec2, hubert"),
    ]

    /// The fixture copied into `scratch` with the fields replaced.
    func write(into scratch: ScratchDirectory) throws {
        try scratch.copyFiles(of: Fixtures.path("family/" + fixture))
        let path = scratch.file("config.json")
        let json = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), source: path)
        var members = json.objectMembers!
        for (field, text) in fields {
            let value = try JSONValue.parse("[\(text)]", source: field).arrayValue![0]  // json-c parses no bare scalars
            if let index = members.firstIndex(where: { $0.key == field }) { members[index].value = value } else { members.append((field, value)) }
        }
        try scratch.write("config.json", JSONValue.object(members).serialized(pretty: true))
    }
}

/// A family golden case with preprocessor_config.json fields replaced (the file's text, when `text` is given), and
/// the words the error must contain.
struct MutatedPreprocessor: CustomTestStringConvertible, Sendable {
    let fixture: String
    /// Field -> JSON text of the new value.
    var fields: [String: String] = [:]
    var text: String?
    let expected: String
    var testDescription: String { text.map { "text \($0)" } ?? fields.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }

    static let all: [MutatedPreprocessor] = [
        // Found by the Config fuzzer: verify's test signals were sized from it (an Int overflow trap; 10^9 would be 8.6 GB).
        MutatedPreprocessor(fixture: "wav2vec2_cls_group_mask", fields: ["sampling_rate": "-9223372036854775808"],
                            expected: "field 'sampling_rate' must be positive and at most 1000000 Hz, found -9223372036854775808"),
        MutatedPreprocessor(fixture: "wavlm_ctc_layer", fields: ["sampling_rate": "0"], expected: "field 'sampling_rate' must be positive"),
        MutatedPreprocessor(fixture: "hubert_ctc_layer_mask", fields: ["sampling_rate": "1000000000"],
                            expected: "field 'sampling_rate' must be positive and at most 1000000 Hz, found 1000000000"),
        MutatedPreprocessor(fixture: "hubert_ctc_layer_mask", fields: ["sampling_rate": "\"16000\""],
                            expected: "field 'sampling_rate' must be an integer"),
        MutatedPreprocessor(fixture: "unispeech_ctc_layer_mask", fields: ["sampling_rate": "16000.5"],
                            expected: "field 'sampling_rate' must be an integer"),
        MutatedPreprocessor(fixture: "data2vec_audio_frame", fields: ["padding_value": "1e39"],
                            expected: "field 'padding_value' must be a finite 32-bit float"),
        MutatedPreprocessor(fixture: "data2vec_audio_frame", fields: ["padding_value": "\"0\""], expected: "field 'padding_value' must be a number"),
        MutatedPreprocessor(fixture: "unispeech_sat_ctc_group", fields: ["do_normalize": "\"yes\""],
                            expected: "field 'do_normalize' must be true or false"),
        MutatedPreprocessor(fixture: "unispeech_sat_ctc_group", fields: ["return_attention_mask": "1"],
                            expected: "field 'return_attention_mask' must be true or false"),
        MutatedPreprocessor(fixture: "wav2vec2_xvector_group", fields: ["feature_size": "80"],
                            expected: "field 'feature_size' must be 1 (the model reads raw waveforms, one value per sample), found 80"),
        MutatedPreprocessor(fixture: "wav2vec2_xvector_group", fields: ["padding_side": "\"left\""],
                            expected: "field 'padding_side' must be 'right', found 'left'"),
        MutatedPreprocessor(fixture: "wav2vec2_xvector_group", fields: ["feature_extractor_type": "\"WhisperFeatureExtractor\""],
                            expected: "field 'feature_extractor_type' names 'WhisperFeatureExtractor'; only Wav2Vec2FeatureExtractor is reproduced"),
        MutatedPreprocessor(fixture: "wavlm_frame_layer_mask", text: "[16000]", expected: "cannot read config (the top level is not a JSON object)"),
        MutatedPreprocessor(fixture: "wavlm_frame_layer_mask", text: "{\"sampling_rate\": ", expected: "invalid JSON"),
    ]

    /// The fixture copied into `scratch` with the fields (or the whole file) replaced.
    func write(into scratch: ScratchDirectory) throws {
        try scratch.copyFiles(of: Fixtures.path("family/" + fixture))
        let name = ModelSidecars.File.preprocessorConfig.rawValue
        if let text {
            try scratch.write(name, text)
            return
        }
        let json = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.file(name)))), source: name)
        var members = json.objectMembers!
        for (field, text) in fields {
            let value = try JSONValue.parse("[\(text)]", source: field).arrayValue![0]  // json-c parses no bare scalars
            if let index = members.firstIndex(where: { $0.key == field }) { members[index].value = value } else { members.append((field, value)) }
        }
        try scratch.write(name, JSONValue.object(members).serialized(pretty: true))
    }
}

@Suite struct FamilyConfigReliabilityTests {
    @Test(arguments: MutatedConfig.all)
    func badCountOrSizeIsRefusedNamingTheFileAndField(_ mutated: MutatedConfig) throws {
        let scratch = try ScratchDirectory("family-config")
        defer { scratch.remove() }
        try mutated.write(into: scratch)
        do {
            _ = try UniSpeechModel(bundle: try ModelBundle.open(path: scratch.path))
            Issue.record("accepted \(mutated.testDescription)")
        } catch let error as ConfigError {
            let message = error.errorDescription ?? ""
            #expect(message.hasPrefix(scratch.file("config.json") + ": "), "the error names config.json: \(message)")
            #expect(message.contains(mutated.expected), "\(message)")
        }
    }

    @Test(arguments: MutatedPreprocessor.all)
    func badPreprocessorFieldIsRefusedNamingTheFileAndField(_ mutated: MutatedPreprocessor) throws {
        let scratch = try ScratchDirectory("family-preprocessor")
        defer { scratch.remove() }
        try mutated.write(into: scratch)
        do {
            _ = try ModelBundle.open(path: scratch.path)
            Issue.record("accepted \(mutated.testDescription)")
        } catch let error as LocalizedError {
            let message = error.errorDescription ?? ""
            #expect(message.hasPrefix(scratch.file("preprocessor_config.json") + ": "), "the error names the file: \(message)")
            #expect(message.contains(mutated.expected), "\(message)")
        }
    }

    /// A native file carries preprocessor_config.json in its header; the same checks apply when it is opened.
    @Test func nativeFileChecksItsPreprocessorConfig() throws {
        let scratch = try ScratchDirectory("family-preprocessor")
        defer { scratch.remove() }
        try MutatedPreprocessor.all[2].write(into: scratch)
        let checkpoint = try HFCheckpoint.open(directory: scratch.path)
        let config = try UniSpeechConfig(json: checkpoint.config, source: checkpoint.configPath)
        let native = scratch.file("model.unispeech")
        try NativeModelWriter.write(ModelContents(
            architecture: config.architectures[0], modelType: config.family.rawValue, targetLanguage: nil, config: config.raw,
            sidecars: checkpoint.sidecars, source: .object([]),
            weights: StorableTensors(CanonicalTensorSource(checkpoint.weights.source, family: config.family), family: config.family),
            inputFiles: []), to: native, format: .f32)
        #expect(throws: ConfigError.invalid(path: native + " (preprocessor_config.json)", field: "sampling_rate",
                                            reason: "must be positive and at most 1000000 Hz, found 1000000000")) {
            try ModelBundle.open(path: native)
        }
    }

    /// The known gap of issue 14: verify sized its built-in test signals from sampling_rate.
    @Test func hugeSamplingRateIsExitStatusTwoWithOneLine() throws {
        let scratch = try ScratchDirectory("family-preprocessor")
        defer { scratch.remove() }
        try MutatedPreprocessor.all[2].write(into: scratch)
        let result = try CLI.run(["verify", scratch.path, "--reference", scratch.path, "--threads", "1"])
        #expect(result.status == 2 && !result.crashed)
        #expect(result.stderrLines == ["unispeech: \(scratch.file("preprocessor_config.json")): field 'sampling_rate' must be positive and at most 1000000 Hz, found 1000000000"])
    }

    @Test func hugeLayerCountIsExitStatusTwoWithOneLine() throws {
        let scratch = try ScratchDirectory("family-config")
        defer { scratch.remove() }
        try MutatedConfig.all[0].write(into: scratch)
        let result = try InspectCommandTests.run(["run", scratch.path, scratch.file("input0.npy")])
        #expect(result.status == 2)
        #expect(result.stderr == "unispeech: \(scratch.file("config.json")): field 'num_hidden_layers' is 1000000000 but the weights hold 2 encoder layers (encoder.layers.N)\n")
    }
}

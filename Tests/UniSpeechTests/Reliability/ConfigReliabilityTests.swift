import Foundation
import Testing
import TestSupport
@testable import UniSpeech

/// One broken config.json and the words its error must contain.
struct BrokenConfig: CustomTestStringConvertible, Sendable {
    let name: String
    /// The file's text, or nil for no config.json at all.
    let text: String?
    let expected: String
    var testDescription: String { name }

    static let all: [BrokenConfig] = [
        BrokenConfig(name: "config.json missing", text: nil, expected: "cannot read config"),
        BrokenConfig(name: "empty file", text: "", expected: "invalid JSON"),
        BrokenConfig(name: "invalid JSON", text: #"{"hidden_size": 16,"#, expected: "invalid JSON"),
        BrokenConfig(name: "not UTF-8", text: "{\"model_type\": \"uni\u{FFFD}\"}", expected: "invalid JSON"),
        BrokenConfig(name: "top level is an array", text: "[]", expected: "the top level is not a JSON object"),
        BrokenConfig(name: "hidden_size is a string", text: #"{"hidden_size": "16"}"#, expected: "field 'hidden_size' must be an integer"),
        BrokenConfig(name: "hidden_size is fractional", text: #"{"hidden_size": 16.5}"#, expected: "field 'hidden_size' must be an integer"),
        BrokenConfig(name: "hidden_size is zero", text: #"{"hidden_size": 0}"#, expected: "field 'hidden_size' must be positive"),
        BrokenConfig(name: "hidden_size larger than Int", text: #"{"hidden_size": 1e30}"#, expected: "field 'hidden_size' must be an integer"),
        BrokenConfig(name: "conv lists of different lengths", text: #"{"conv_dim": [8, 8], "conv_stride": [2], "conv_kernel": [3, 3]}"#,
                     expected: "field 'conv_dim' has 2 entries"),
        BrokenConfig(name: "zero conv stride", text: #"{"conv_dim": [8], "conv_stride": [0], "conv_kernel": [3]}"#,
                     expected: "field 'conv_stride' must hold positive integers"),
        BrokenConfig(name: "heads do not divide hidden_size", text: #"{"hidden_size": 10, "num_attention_heads": 3}"#,
                     expected: "must be divisible by num_attention_heads"),
        BrokenConfig(name: "unknown activation", text: #"{"hidden_act": "swoosh"}"#, expected: "unknown activation 'swoosh'"),
        BrokenConfig(name: "unknown feature norm", text: #"{"feat_extract_norm": "batch"}"#, expected: "must be 'group' or 'layer'"),
        BrokenConfig(name: "id2label with a non-integer key", text: #"{"id2label": {"zero": "yes"}}"#,
                     expected: "integer keys and string labels"),
        BrokenConfig(name: "negative layer_norm_eps", text: #"{"layer_norm_eps": -1}"#, expected: "must be positive"),
        BrokenConfig(name: "model_type is a number", text: #"{"model_type": 5}"#, expected: "field 'model_type' must be a string"),
        BrokenConfig(name: "hidden_act is a list", text: #"{"hidden_act": ["gelu"]}"#, expected: "field 'hidden_act' must be a string"),
        BrokenConfig(name: "layer_norm_eps is a string", text: #"{"layer_norm_eps": "1e-5"}"#, expected: "field 'layer_norm_eps' must be a number"),
        BrokenConfig(name: "do_stable_layer_norm is a string", text: #"{"do_stable_layer_norm": "yes"}"#,
                     expected: "field 'do_stable_layer_norm' must be true or false"),
        BrokenConfig(name: "conv_dim holds a string", text: #"{"conv_dim": [8, "8"]}"#, expected: "field 'conv_dim' must be a list of integers"),
        BrokenConfig(name: "architectures holds a number", text: #"{"architectures": [1]}"#,
                     expected: "field 'architectures' must be a list of strings"),
    ]
}

@Suite struct ConfigReliabilityTests {
    @Test(arguments: BrokenConfig.all)
    func brokenConfigIsRefusedNamingTheFile(_ broken: BrokenConfig) throws {
        let scratch = try ScratchDirectory("config")
        defer { scratch.remove() }
        try scratch.write("model.safetensors", SafetensorsBytes.valid)
        if var text = broken.text {
            if broken.name == "not UTF-8" { text = text.replacingOccurrences(of: "\u{FFFD}", with: "") }
            var bytes = Array(text.utf8)
            if broken.name == "not UTF-8" { bytes.insert(0xFF, at: bytes.count - 3) }
            try scratch.write("config.json", bytes)
        }
        let configPath = scratch.file("config.json")
        do {
            _ = try ModelBundle.open(path: scratch.path)
            Issue.record("accepted a broken config (\(broken.name))")
        } catch let error as LocalizedError {
            let message = error.errorDescription ?? ""
            #expect(message.hasPrefix(configPath + ": "), "the error names config.json: \(message)")
            #expect(message.contains(broken.expected), "\(broken.name): \(message)")
        }
    }
}

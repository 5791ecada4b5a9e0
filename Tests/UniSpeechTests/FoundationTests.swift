import Foundation
import Testing
@testable import UniSpeech

@Suite struct JSONTests {
    @Test func parsesAndWritesRoundTrip() throws {
        let text = #"{"b": [1, 2.5, "x", null, true], "a": {"z": -3}}"#
        let value = try JSONValue.parse(text, source: "t.json")
        #expect(value["b"]?.arrayValue?.count == 5)
        #expect(value["a"]?["z"]?.intValue == -3)
        #expect(value.objectMembers?.map(\.key) == ["b", "a"])
        #expect(try JSONValue.parse(value.serialized(), source: "again") == value)
    }

    @Test func writesShortestNumbersAndNoNaN() throws {
        #expect(JSONValue.array([.double(0.1), .double(1e-7), .double(2), .double(.nan)]).serialized() == "[0.1,1e-07,2.0,null]")
    }

    @Test func rejectsBrokenText() {
        #expect(throws: JSONError.self) { try JSONValue.parse(#"{"a": "#, source: "t.json") }
        #expect(throws: JSONError.self) { try JSONValue.parse(#"{"a": 1} x"#, source: "t.json") }
        #expect(throws: JSONError.self) { try JSONValue.parse("", source: "t.json") }
    }
}

@Suite struct ConfigTests {
    @Test func defaultsMatchTransformers() throws {
        let config = try UniSpeechConfig(json: .object([]), source: "config.json")
        #expect(config.hiddenSize == 768)
        #expect(config.convKernel == [10, 3, 3, 3, 3, 2, 2])
        #expect(config.numConvPosEmbeddings == 128)
        #expect(config.outputLength(forSamples: 16000) == 49)
    }

    @Test func rejectsContradictions() {
        let json = try! JSONValue.parse(#"{"conv_dim": [8, 8], "conv_stride": [2], "conv_kernel": [3, 3]}"#, source: "c")
        #expect(throws: ConfigError.self) { try UniSpeechConfig(json: json, source: "c") }
        let heads = try! JSONValue.parse(#"{"hidden_size": 10, "num_attention_heads": 3}"#, source: "c")
        #expect(throws: ConfigError.self) { try UniSpeechConfig(json: heads, source: "c") }
    }
}

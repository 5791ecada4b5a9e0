import Foundation
import Testing
@testable import UniSpeechCore
@testable import UniSpeechModels

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

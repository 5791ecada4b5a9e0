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

@Suite struct FamilyConfigTests {
    func config(_ text: String) throws -> UniSpeechConfig {
        try UniSpeechConfig(json: try JSONValue.parse(text, source: "config.json"), source: "config.json")
    }

    @Test func modelTypePicksTheFamilyElseTheArchitecture() throws {
        for family in ModelFamily.allCases {
            #expect(try config(#"{"model_type": "\#(family.rawValue)"}"#).family == family)
            #expect(try config(#"{"architectures": ["\#(family.architecture(of: .ctc))"]}"#).family == family)
        }
        #expect(try config("{}").family == .unispeech)
        #expect(try config(#"{"architectures": ["WhisperForConditionalGeneration"]}"#).family == .unispeech)
    }

    @Test func familyDefaultsMatchTransformers() throws {
        // transformers 5.24's configuration_*.py defaults (notes: family-semantics.md section 2).
        let data2vec = try config(#"{"model_type": "data2vec-audio", "feat_extract_norm": "group", "do_stable_layer_norm": true}"#)
        #expect(data2vec.numConvPosEmbeddings == 5 && data2vec.convPosKernelSize == 19)
        #expect(data2vec.featExtractNorm == "layer" && !data2vec.doStableLayerNorm, "Data2VecAudio has neither field")
        #expect(data2vec.ctcLossReduction == "sum")
        let hubert = try config(#"{"model_type": "hubert", "add_adapter": true, "num_codevector_groups": "any"}"#)
        #expect(hubert.featProjLayerNorm && !hubert.convPosBatchNorm)
        #expect(!hubert.hasConvAdapter, "HubertModel has no conv adapter; fields it lacks are not read")
        let wav2vec2 = try config(#"{"model_type": "wav2vec2", "add_adapter": true, "output_hidden_size": null}"#)
        #expect(wav2vec2.hasConvAdapter && wav2vec2.adapterOutputSize == wav2vec2.hiddenSize)
        #expect(wav2vec2.tdnnDim == [512, 512, 512, 512, 1500] && wav2vec2.tdnnKernel == [5, 3, 3, 1, 1])
        #expect(wav2vec2.tdnnDilation == [1, 2, 3, 1, 1] && wav2vec2.xvectorOutputDim == 512)
        #expect(wav2vec2.adapterKernelSize == 3 && wav2vec2.adapterStride == 2 && wav2vec2.numAdapterLayers == 3)
        let wavlm = try config(#"{"model_type": "wavlm"}"#)
        #expect(wavlm.numBuckets == 320 && wavlm.maxBucketDistance == 800 && wavlm.numConvPosEmbeddings == 128)
        let sat = try config(#"{"model_type": "unispeech-sat"}"#)
        #expect(sat.numClusters == 504 && sat.ctcLossReduction == "mean")
    }

    @Test func attentionAdaptersNeedPreLNLayers() throws {
        #expect(try config(#"{"model_type": "wav2vec2", "adapter_attn_dim": 16, "do_stable_layer_norm": true}"#).hasAttentionAdapters)
        #expect(!(try config(#"{"model_type": "wav2vec2", "adapter_attn_dim": 16}"#).hasAttentionAdapters))
        #expect(try config(#"{"model_type": "hubert", "adapter_attn_dim": 16, "do_stable_layer_norm": true}"#).hasAttentionAdapters)
        #expect(!(try config(#"{"model_type": "wavlm", "adapter_attn_dim": 16, "do_stable_layer_norm": true}"#).hasAttentionAdapters))
    }

    @Test func adapterLengthsFollowTransformersKernelOneRule() throws {
        let adapted = try config(#"{"model_type": "wav2vec2", "add_adapter": true, "adapter_kernel_size": 4, "num_adapter_layers": 2}"#)
        let frames = adapted.outputLength(forSamples: 16000)  // 49
        // _get_feat_extract_output_lengths(add_adapter=True): floor((L - 1) / 2) + 1 twice, whatever the kernel.
        #expect(adapted.adaptedOutputLength(forSamples: 16000) == ((frames - 1) / 2 + 1 - 1) / 2 + 1)
    }

    @Test func relativePositionBucketsMatchTransformers() {
        // transformers 5.24: WavLMAttention._relative_positions_bucket(torch.tensor([offset])) with num_buckets 320,
        // max_distance 800 (WavLM base's), at these key - query offsets (the fixtures cover other settings end to end).
        let expected: [Int: Int] = [0: 0, 1: 161, -1: 1, 79: 239, -79: 79, 80: 240, 100: 247, -1000: 159, 1000: 319]
        for (relative, bucket) in expected {
            #expect(RelativePositionEmbedding.bucket(relative, numBuckets: 320, maxDistance: 800) == bucket, "\(relative)")
        }
    }
}

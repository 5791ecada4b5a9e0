import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore
@testable import UniSpeechModels

@Suite struct KeyMapTests {
    /// The weights of a checkpoint fixture under canonical names.
    private func canonical(_ fixture: String) throws -> CanonicalTensorSource {
        try CanonicalTensorSource(HFCheckpoint.open(directory: ExpectedCheckpoint.directory(fixture)).weights.source, family: .unispeech)
    }

    @Test func everyLayoutOfOneModelGivesTheSameCanonicalWeights() throws {
        let reference = try canonical("ctc-safetensors")
        let referenceNames = reference.tensors.map(\.name).sorted()
        #expect(referenceNames.contains("encoder.pos_conv_embed.conv.weight_g"))
        #expect(referenceNames.contains("encoder.pos_conv_embed.conv.weight_v"))
        #expect(!referenceNames.contains { $0.hasPrefix("unispeech.") || $0.contains("parametrizations") })
        for fixture in ["ctc-bin", "ctc-bin-legacy-names", "ctc-sharded-bin", "ctc-sharded-f16"] {
            let weights = try canonical(fixture)
            #expect(weights.tensors.map(\.name).sorted() == referenceNames, "\(fixture)")
            for name in ["encoder.pos_conv_embed.conv.weight_g", "lm_head.weight", "feature_projection.projection.bias"] {
                let a = try reference.floats(name)
                let b = try weights.floats(name)
                // f16 shards round each value: |a - b| <= 2^-11 |a| + 1e-7; the others are bit-identical.
                let tolerance: (Float) -> Float = fixture == "ctc-sharded-f16" ? { abs($0) / 2048 + 1e-7 } : { _ in 0 }
                #expect(zip(a, b).allSatisfy { abs($0 - $1) <= tolerance($0) }, "\(fixture) \(name)")
            }
        }
    }

    @Test func bareBaseModelKeysHaveNoPrefix() throws {
        let stored = try StoredWeights.open(directory: ExpectedCheckpoint.directory("base-bare"))
        #expect(stored.source.tensors.contains { $0.name == "encoder.pos_conv_embed.conv.parametrizations.weight.original0" })
        let canonical = try canonical("base-bare")
        #expect(canonical.info("encoder.pos_conv_embed.conv.weight_v")?.shape == [16, 8, 4])
        #expect(canonical.originalNames["encoder.pos_conv_embed.conv.weight_v"] == "encoder.pos_conv_embed.conv.parametrizations.weight.original1")
    }
}

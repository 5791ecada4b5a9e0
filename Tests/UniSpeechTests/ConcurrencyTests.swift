import Foundation
import Testing
import TestSupport
@testable import UniSpeech

@Suite struct ConcurrencyTests {
    /// Two models with their own engines (different libraries and thread counts), run from several tasks at once,
    /// give exactly the outputs each gives alone: nothing about threads or scratch is shared between them.
    @Test func modelsRunningAtOnceGiveTheirOwnOutputs() async throws {
        let ctc = try GoldenCase("ctc_layer_stable_mask"), classifier = try GoldenCase("cls_weighted_postln")
        let first = try UniSpeechModel(bundle: ctc.bundle, engine: ComputeEngine(threads: 2, backend: .onednn))
        let second = try UniSpeechModel(bundle: classifier.bundle, engine: ComputeEngine(threads: 1, backend: .openblas))
        let firstBatch = FeatureExtractor(config: ctc.bundle.featureExtractor).makeBatch(ctc.waveforms)
        let secondBatch = FeatureExtractor(config: classifier.bundle.featureExtractor).makeBatch(classifier.waveforms)
        let firstAlone = try first.run(firstBatch, head: .ctc).tensors
        let secondAlone = try second.run(secondBatch, head: .classification).tensors
        try await withThrowingTaskGroup(of: (Bool, [NamedTensor]).self) { group in
            for _ in 0..<6 {
                group.addTask { (true, try first.run(firstBatch, head: .ctc).tensors) }
                group.addTask { (false, try second.run(secondBatch, head: .classification).tensors) }
            }
            for try await (isFirst, tensors) in group {
                // Same engine, same partition of the work: bit-identical, not merely close.
                #expect(tensors == (isFirst ? firstAlone : secondAlone))
            }
        }
    }
}

import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechKernels
@testable import UniSpeechModels

@Suite struct FeatureEncoderBlockTests {
    /// The conv stack run a few final frames at a time (with the overlap each kernel needs, and the group norm's
    /// statistics gathered first) gives what it gives in one block.
    @Test(arguments: ["ctc_group_postln", "ctc_layer_stable_mask", "base_layer_stable"], [1, 2, 5])
    func blocksGiveWhatOneBlockGives(name: String, blockFrames: Int) throws {
        let golden = try GoldenCase(name)
        let model = try UniSpeechModel(bundle: golden.bundle, engine: ComputeEngine(threads: 2))
        let waveform = golden.waveforms[0]
        let frames = model.config.outputLength(forSamples: waveform.count), channels = model.config.convDim.last!
        func features(blockFrames: Int?) throws -> [Float] {
            var out = [Float](repeating: .nan, count: frames * channels)
            try model.engine.withContext { context in
                try waveform.withMatrix(rows: waveform.count, columns: 1) { samples in
                    try out.withUnsafeMutableBufferPointer { pointer in
                        let view = MutableMatrix(pointer.baseAddress!, rows: frames, columns: channels)
                        let written = try model.featureEncoder(samples, into: view, blockFrames: blockFrames, context: context)
                        #expect(written == frames)
                    }
                }
            }
            return out
        }
        let whole = try features(blockFrames: nil), blocked = try features(blockFrames: blockFrames)
        // Same arithmetic per frame, only split differently among products: within f32 rounding of the largest value.
        #expect(relativeMaxError(blocked, whole) <= 1e-6, "\(name), \(blockFrames) frames per block")
    }
}

import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechAudio
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore
@testable import UniSpeechFormat
@testable import UniSpeechKernels
@testable import UniSpeechModels

/// Golden cases made by scripts/make_golden.py (transformers outputs on a batch of two inputs).
let goldenCases = [
    "ctc_group_postln", "ctc_layer_stable_mask", "ctc_relu_nonorm_input", "cls_mean_mask", "cls_weighted_postln",
    "cls_weighted_stable_mask", "pretraining", "base_layer_stable",
]

struct GoldenCase {
    let directory: String
    let bundle: ModelBundle
    let reference: SafetensorsReader
    let waveforms: [[Float]]

    init(_ name: String) throws {
        let directory = Fixtures.path("golden/" + name)
        self.directory = directory
        bundle = try ModelBundle.open(path: directory)
        reference = try SafetensorsReader(path: directory + "/reference.safetensors")
        waveforms = try (0..<2).map { try NpyReader.readFloat32Vector(path: directory + "/input\($0).npy") }
    }

    func referenceTensor(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let info = try #require(reference.info(name), "reference lacks \(name)")
        return (info.shape, try reference.floats(name))
    }
}

/// Max |a - b| over max |b|.
func relativeMaxError(_ a: [Float], _ b: [Float]) -> Float {
    let scale = b.map(abs).max() ?? 0
    let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return error / max(scale, .leastNormalMagnitude)
}

@Suite struct GoldenModelTests {
    @Test(arguments: goldenCases) func featureExtractorMatchesTransformers(name: String) throws {
        let golden = try GoldenCase(name)
        let batch = FeatureExtractor(config: golden.bundle.featureExtractor).makeBatch(golden.waveforms)
        let expected = try golden.referenceTensor("input_values")
        #expect([batch.batchSize, batch.paddedLength] == expected.shape)
        // Normalisation statistics in f64 vs numpy's f32: within 1e-5 of the largest value.
        #expect(relativeMaxError(batch.values, expected.values) <= 1e-5)
        if golden.reference.info("attention_mask") != nil {
            let mask = try golden.reference.bytes(of: "attention_mask").load(as: Int32.self)
            #expect(batch.attentionMask == mask)
        } else {
            #expect(batch.attentionMask == nil)
        }
    }

    @Test(arguments: goldenCases) func forwardMatchesTransformers(name: String) throws {
        let golden = try GoldenCase(name)
        let model = try UniSpeechModel(bundle: golden.bundle)
        let batch = FeatureExtractor(config: golden.bundle.featureExtractor).makeBatch(golden.waveforms)
        let output = try model.run(batch, head: model.defaultHead)
        #expect(output.tensors.map(\.name) == output.head.outputNames(family: .unispeech))
        for tensor in output.tensors {
            let expected = try golden.referenceTensor(tensor.name)
            #expect(tensor.shape == expected.shape, "\(name) \(tensor.name) shape")
            let error = relativeMaxError(tensor.values, expected.values)
            // fp32 parity target: max abs error <= 1e-4 x max |reference|.
            #expect(error <= 1e-4, "\(name) \(tensor.name): relative max error \(error)")
        }
    }
}

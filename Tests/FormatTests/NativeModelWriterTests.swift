import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore
@testable import UniSpeechFormat

@Suite struct NativeModelWriterTests {
    /// Writes `entries` as a native file in `format` and reads it back.
    private func roundTrip(_ entries: [(name: String, shape: [Int], values: [Float])], format: WeightFormat,
                           sidecars: ModelSidecars = ModelSidecars(), in scratch: ScratchDirectory) throws -> NativeReader {
        let contents = ModelContents(architecture: "UniSpeechForCTC", config: .object([("hidden_size", .int(4))]), sidecars: sidecars,
                                     source: .object([("kind", .string("test"))]), weights: InMemoryTensors(entries: entries),
                                     inputFiles: [])
        let path = scratch.file("model-\(format.rawValue).unispeech")
        try NativeModelWriter.write(contents, to: path, format: format)
        return try NativeReader(path: path)
    }

    @Test func f32KeepsEveryTensorByteForByteAndTheSidecars() throws {
        let scratch = try ScratchDirectory("format")
        let entries: [(name: String, shape: [Int], values: [Float])] = [
            ("encoder.layers.0.attention.q_proj.weight", [2, 3], [1, -2, 3, 0.5, 0.25, -0.125]),
            ("encoder.layer_norm.bias", [3], [0.1, 0.2, 0.3]),
        ]
        let sidecars = ModelSidecars([.vocabulary: .object([("a", .int(0))]), .preprocessorConfig: .object([("sampling_rate", .int(16000))])])
        let reader = try roundTrip(entries, format: .f32, sidecars: sidecars, in: scratch)
        #expect(reader.header.sidecars == sidecars)
        #expect(reader.header.architecture == "UniSpeechForCTC")
        try reader.checkChecksums()
        for entry in entries {
            #expect(reader.info(entry.name)?.dtype == .f32)
            #expect(try reader.floats(entry.name) == entry.values)
        }
    }

    @Test func int8StoresCodesWithAScaleTensorThatDequantisesWithinHalfAStep() throws {
        let scratch = try ScratchDirectory("format")
        let weight: [Float] = [1, -0.5, 0.25, 0, 2, -4]  // [2, 3]: scales 1/127 and 4/127
        let reader = try roundTrip([("encoder.layers.0.feed_forward.intermediate_dense.weight", [2, 3], weight)], format: .int8, in: scratch)
        let name = "encoder.layers.0.feed_forward.intermediate_dense.weight"
        #expect(reader.info(name)?.dtype == .i8)
        let scales = try reader.floats(QuantizedTensorNaming.scaleName(of: name))
        #expect(scales == [1.0 / 127, 4.0 / 127])
        let restored = try DequantizedTensorSource(reader).floats(name)
        for (index, (value, original)) in zip(restored, weight).enumerated() {
            #expect(abs(value - original) <= scales[index / 3] / 2 + 1e-7, "value \(index)")  // rounding to the nearest code
        }
    }

    @Test func aFailedConversionWritesNothing() throws {
        let scratch = try ScratchDirectory("format")
        let weights = InMemoryTensors(entries: [
            ("feature_projection.projection.weight", [2, 2], [1, 2, .nan, 4]),
        ])
        let contents = ModelContents(architecture: "UniSpeechModel", config: .object([]), sidecars: ModelSidecars(),
                                     source: .object([]), weights: weights, inputFiles: [])
        let output = scratch.file("broken.unispeech")
        #expect(throws: QuantizeError.nonFinite(source: "memory", name: "feature_projection.projection.weight")) {
            try NativeModelWriter.write(contents, to: output, format: .int8)
        }
        #expect(try scratch.entries().isEmpty, "no output and no temporary file")
    }
}

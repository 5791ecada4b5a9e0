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

/// A tensor source derived from another: some tensors dropped, replaced or added, in memory.
struct EditedSource: TensorSource {
    let base: any TensorSource
    var replaced: [String: (info: TensorInfo, bytes: TensorBytes)] = [:]
    var removed: Set<String> = []

    var sourceDescription: String { "edited " + base.sourceDescription }

    var tensors: [TensorInfo] {
        base.tensors.filter { !removed.contains($0.name) && replaced[$0.name] == nil }
            + replaced.values.map(\.info).sorted { $0.name < $1.name }
    }

    func bytes(of name: String) throws -> TensorBytes {
        if let entry = replaced[name] { return entry.bytes }
        guard !removed.contains(name) else { throw TensorSourceError.missingTensor(source: sourceDescription, name: name) }
        return try base.bytes(of: name)
    }

    mutating func put(_ name: String, dtype: DType, shape: [Int], bytes: TensorBytes) {
        replaced[name] = (TensorInfo(name: name, dtype: dtype, shape: shape), bytes)
    }
}

func loadError(_ bundle: ModelBundle) -> ModelError? {
    do {
        _ = try UniSpeechModel(bundle: bundle)
        return nil
    } catch {
        return error as? ModelError
    }
}

@Suite struct ModelLoadTests {
    let golden: GoldenCase

    init() throws { golden = try GoldenCase("ctc_group_postln") }

    func bundle(with source: EditedSource) -> ModelBundle {
        var bundle = golden.bundle
        bundle.weights = source
        return bundle
    }

    @Test func missingTensorIsNamed() {
        var source = EditedSource(base: golden.bundle.weights)
        source.removed = ["encoder.layers.1.feed_forward.output_dense.bias"]
        let error = loadError(bundle(with: source))
        #expect(error == .missingTensor(source: source.sourceDescription, name: "encoder.layers.1.feed_forward.output_dense.bias"))
        #expect(error?.errorDescription?.contains("encoder.layers.1.feed_forward.output_dense.bias") == true)
    }

    @Test func unexpectedTensorIsNamed() {
        var source = EditedSource(base: golden.bundle.weights)
        source.put("encoder.layers.7.extra.weight", dtype: .f32, shape: [2], bytes: TensorBytes(values: [Float](repeating: 1, count: 2)))
        #expect(loadError(bundle(with: source)) == .unexpectedTensors(source: source.sourceDescription, names: ["encoder.layers.7.extra.weight"]))
    }

    @Test func wrongShapeIsNamed() throws {
        var source = EditedSource(base: golden.bundle.weights)
        source.put("lm_head.bias", dtype: .f32, shape: [13], bytes: TensorBytes(values: [Float](repeating: 0, count: 13)))
        #expect(loadError(bundle(with: source)) == .wrongShape(source: source.sourceDescription, name: "lm_head.bias", expected: [12], found: [13]))
    }

    @Test func integerTensorOutsideLinearIsRejected() {
        var source = EditedSource(base: golden.bundle.weights)
        source.put("encoder.layer_norm.weight", dtype: .i8, shape: [16], bytes: TensorBytes(values: [Int8](repeating: 1, count: 16)))
        guard case .unsupportedDType(_, "encoder.layer_norm.weight", .i8, _)? = loadError(bundle(with: source)) else {
            Issue.record("an i8 layer norm weight must be refused")
            return
        }
    }

    @Test func alignedF32WeightsAreUsedInPlace() throws {
        let loader = WeightLoader(golden.bundle.weights, family: .unispeech)
        #expect(try loader.floats("lm_head.weight", shape: [12, 16]).isMapped)
    }

    @Test func ignorableTensorsAreAcceptedAndEverythingElseIsRead() throws {
        #expect(golden.bundle.weights.info("masked_spec_embed") != nil)
        let pretraining = try GoldenCase("pretraining")
        #expect(pretraining.bundle.weights.info("ctc_proj.weight") != nil)
        #expect(try UniSpeechModel(bundle: pretraining.bundle).availableHeads == [.base, .pretraining])
    }

    @Test func headsFollowArchitecturesAndWeights() throws {
        let expected: [String: (ModelHead, [ModelHead])] = [
            "ctc_group_postln": (.ctc, [.base, .ctc]),
            "cls_mean_mask": (.classification, [.base, .classification]),
            "pretraining": (.pretraining, [.base, .pretraining]),
            "base_layer_stable": (.base, [.base]),
        ]
        for (name, (head, available)) in expected {
            let model = try UniSpeechModel(bundle: try GoldenCase(name).bundle)
            #expect(model.defaultHead == head, "\(name)")
            #expect(model.availableHeads == available, "\(name)")
        }
        let model = try UniSpeechModel(bundle: golden.bundle)
        let batch = FeatureExtractor(config: golden.bundle.featureExtractor).makeBatch(golden.waveforms)
        #expect(throws: ModelError.headNotAvailable(model: golden.bundle.description, head: "pretraining", available: ["base", "ctc"])) {
            try model.run(batch, head: .pretraining)
        }
    }

    @Test func tooShortInputIsRefused() throws {
        let model = try UniSpeechModel(bundle: golden.bundle)
        let batch = FeatureExtractor(config: golden.bundle.featureExtractor).makeBatch([[Float](repeating: 0.1, count: 5)])
        #expect(throws: ModelError.inputTooShort(index: 0, samples: 5)) { try model.run(batch, head: .ctc) }
    }

    /// Runs the CTC golden case with every weight stored as `dtype` (i8: linear weights only, per-row scales).
    func logitsError(storing dtype: DType) throws -> Float {
        var source = EditedSource(base: golden.bundle.weights)
        for info in golden.bundle.weights.tensors where info.dtype == .f32 {
            let values = try golden.bundle.weights.floats(info.name)
            switch dtype {
            case .f16:
                source.put(info.name, dtype: .f16, shape: info.shape, bytes: TensorBytes(values: values.map { Float16($0).bitPattern }))
            case .bf16:
                let rounded = values.map { UInt16(truncatingIfNeeded: ($0.bitPattern &+ 0x7FFF &+ (($0.bitPattern >> 16) & 1)) >> 16) }
                source.put(info.name, dtype: .bf16, shape: info.shape, bytes: TensorBytes(values: rounded))
            case .i8 where info.shape.count == 2 && info.name.hasSuffix(".weight"):
                let columns = info.shape[1]
                var quantised: [Int8] = []
                var scales: [Float] = []
                for row in 0..<info.shape[0] {
                    let slice = values[(row * columns)..<((row + 1) * columns)]
                    let scale = max(slice.map(abs).max() ?? 0, .leastNormalMagnitude) / 127
                    scales.append(scale)
                    quantised += slice.map { Int8(($0 / scale).rounded()) }
                }
                source.put(info.name, dtype: .i8, shape: info.shape, bytes: TensorBytes(values: quantised))
                source.put(info.name + ".scale", dtype: .f32, shape: [info.shape[0]], bytes: TensorBytes(values: scales))
            default:
                break
            }
        }
        let model = try UniSpeechModel(bundle: bundle(with: source))
        let batch = FeatureExtractor(config: golden.bundle.featureExtractor).makeBatch(golden.waveforms)
        let logits = try #require(try model.run(batch, head: .ctc)["logits"])
        return relativeMaxError(logits.values, try golden.referenceTensor("logits").values)
    }

    @Test func halfPrecisionWeightsLoad() throws {
        // f16 keeps 11 significant bits: the logits stay within 1% of the f32 reference's largest value.
        #expect(try logitsError(storing: .f16) <= 1e-2)
        // bf16 keeps 8: within 5%.
        #expect(try logitsError(storing: .bf16) <= 5e-2)
    }

    @Test func int8LinearWeightsWithScalesLoad() throws {
        // Per-row symmetric int8 on every linear layer of a tiny model: within 5% of the reference's largest value.
        #expect(try logitsError(storing: .i8) <= 5e-2)
    }
}

@Suite struct RunInputTests {
    static let schema = try! JSONSchemaValidator(path: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas/run-output.schema.json").path)
    let scratch: ScratchDirectory

    init() throws { scratch = try ScratchDirectory("run") }

    func temporaryNpy(_ header: String, dataBytes: Int) throws -> String {
        var text = "{'descr': \(header), }"
        while (text.count + 11) % 64 != 0 { text += " " }
        text += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)]
        bytes += Array(text.utf8) + [UInt8](repeating: 0, count: dataBytes)
        return try scratch.write("input-\(header.hashValue).npy", bytes)
    }

    @Test func npyReaderReadsFloat32Vectors() throws {
        let samples = try NpyReader.readFloat32Vector(path: Fixtures.path("golden/ctc_group_postln/input0.npy"))
        #expect(samples.count == 1400)
        let path = try temporaryNpy("'<f4', 'fortran_order': False, 'shape': (3,)", dataBytes: 12)
        #expect(try NpyReader.readFloat32Vector(path: path) == [0, 0, 0])
    }

    @Test func npyReaderRejectsOtherDtypesAndShapes() throws {
        for (header, bytes) in [("'<f8', 'fortran_order': False, 'shape': (3,)", 24),
                                ("'<f4', 'fortran_order': False, 'shape': (2, 3)", 24),
                                ("'<f4', 'fortran_order': False, 'shape': (4,)", 12)] {
            let path = try temporaryNpy(header, dataBytes: bytes)
            #expect(throws: NpyError.self) { try NpyReader.readFloat32Vector(path: path) }
        }
    }

    @Test func safetensorsWriterRoundTrips() throws {
        let path = scratch.file("round-trip.safetensors")
        try SafetensorsWriter.write([.init(name: "a", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
                                     .init(name: "codevector_perplexity", shape: [1], floats: [7.5])],
                                    metadata: [("head", "ctc")], to: path)
        let reader = try SafetensorsReader(path: path)
        #expect(reader.tensors.map(\.name) == ["a", "codevector_perplexity"])
        #expect(reader.info("a")?.shape == [2, 3])
        #expect(try reader.floats("a") == [1, 2, 3, 4, 5, 6])
        #expect(try reader.floats("codevector_perplexity") == [7.5])
        #expect(reader.metadata["head"] == "ctc")
    }

    @Test func runWritesTheHeadOutputsWithHFNames() throws {
        let directory = Fixtures.path("golden/pretraining")
        let path = scratch.file("outputs.safetensors")
        let report = try ModelRun.run(RunRequest(modelPath: directory, inputPaths: [directory + "/input0.npy", directory + "/input1.npy"],
                                                 outputPath: path, threads: 1))
        #expect(report.head == .pretraining)
        #expect(report.output.frameLengths == [69, 49])
        let written = try SafetensorsReader(path: path)
        let reference = try SafetensorsReader(path: directory + "/reference.safetensors")
        for name in ["projected_states", "projected_quantized_states", "codevector_perplexity"] {
            #expect(written.info(name)?.shape == reference.info(name)?.shape)
            // fp32 parity: within 1e-4 of the reference's largest value.
            #expect(relativeMaxError(try written.floats(name), try reference.floats(name)) <= 1e-4, "\(name)")
        }
        #expect(Self.schema.validate(report.json) == [])
        #expect(report.text.contains("codevector_perplexity [1]"))
    }

    @Test func tooShortInputFileIsNamed() throws {
        let path = try temporaryNpy("'<f4', 'fortran_order': False, 'shape': (5,)", dataBytes: 20)
        #expect(throws: RunError.inputTooShort(path: path, samples: 5)) {
            try ModelRun.run(RunRequest(modelPath: Fixtures.path("golden/ctc_group_postln"), inputPaths: [path], threads: 1))
        }
    }

    @Test func failedRunLeavesNoOutputFile() throws {
        let directory = Fixtures.path("golden/ctc_group_postln")
        let path = scratch.file("never.safetensors")
        #expect(throws: ModelError.headNotAvailable(model: "HF directory " + directory, head: "pretraining", available: ["base", "ctc"])) {
            try ModelRun.run(RunRequest(modelPath: directory, inputPaths: [directory + "/input0.npy"], head: .pretraining,
                                        outputPath: path, threads: 1))
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try scratch.entries() == [])
    }
}

@Suite struct ActivationTests {
    @Test(arguments: Activation.allCases) func matchesTransformers(activation: Activation) throws {
        let table = try SafetensorsReader(path: Fixtures.path("golden/activations.safetensors"))
        var values = try table.floats("input")
        activation.apply(&values)
        // libm f32 vs torch f32: within 1e-6 of the largest value.
        #expect(relativeMaxError(values, try table.floats(activation.rawValue)) <= 1e-6)
    }
}

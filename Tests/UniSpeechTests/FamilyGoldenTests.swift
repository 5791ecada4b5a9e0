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

/// One golden case of Tests/Fixtures/family (scripts/make_family_golden.py: transformers 5.24 on every family x head,
/// in each norm kind the family allows, with and without masks), as cases.json describes it.
struct FamilyCase: CustomTestStringConvertible, Sendable {
    let name: String
    let modelType: String
    let head: ModelHead
    let headOutputs: [String]
    let hiddenStates: Int
    /// The MMS case: the adapter's language and the reference made after `load_adapter`.
    let adapter: (language: String, reference: String)?

    var testDescription: String { name }
    var directory: String { Fixtures.path("family/" + name) }

    static let all: [FamilyCase] = {
        let path = Fixtures.path("family/cases.json")
        let list = try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path).arrayValue!
        return list.map { entry in
            FamilyCase(name: entry["name"]!.stringValue!, modelType: entry["model_type"]!.stringValue!,
                       head: ModelHead(rawValue: entry["head"]!.stringValue!)!,
                       headOutputs: entry["head_outputs"]!.arrayValue!.map { $0.stringValue! },
                       hiddenStates: entry["num_hidden_states"]!.intValue!,
                       adapter: entry["adapter"].map { ($0["lang"]!.stringValue!, $0["reference"]!.stringValue!) })
        }
    }()

    /// Each reference file of the case with the language to load for it (nil: the weights as they are).
    var references: [(file: String, language: String?)] {
        [("reference.safetensors", nil)] + (adapter.map { [($0.reference, $0.language)] } ?? [])
    }

    /// The two inputs (240 and 170 samples).
    func waveforms() throws -> [[Float]] {
        try (0..<2).map { try NpyReader.readFloat32Vector(path: directory + "/input\($0).npy") }
    }

    /// Runs the case's head on its inputs with every hidden state recorded, from `path` (HF directory or native file).
    func run(_ path: String, language: String?) throws -> ModelOutput {
        let bundle = try ModelBundle.open(path: path, targetLanguage: language)
        let model = try UniSpeechModel(bundle: bundle, engine: try ComputeEngine(threads: 2))
        let batch = FeatureExtractor(config: bundle.featureExtractor).makeBatch(try waveforms())
        return try model.run(batch, head: head, hiddenStates: true)
    }

    /// Every tensor of a reference file besides the inputs, by name.
    func expected(_ file: String) throws -> [String: (shape: [Int], values: [Float])] {
        let reader = try SafetensorsReader(path: directory + "/" + file)
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for info in reader.tensors where !["input_values", "attention_mask"].contains(info.name) {
            tensors[info.name] = (info.shape, try reader.floats(info.name))
        }
        return tensors
    }

    /// What scripts/make_family_f16_golden.py recorded for one reference file: the tensors it rounded to f16, and
    /// transformers' own outputs with them rounded when that alone moves an output by more than 2e-3.
    func f16Record(_ file: String) throws -> (rounded: [String], reference: String?) {
        let record = try #require(FamilyCase.f16Records[name]?[file])
        return (record["rounded"]!.arrayValue!.map { $0.stringValue! }, record["f16_reference"]?.stringValue)
    }

    static let f16Records: [String: JSONValue] = {
        let path = Fixtures.path("family/f16.json")
        let root = try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path)
        return Dictionary(uniqueKeysWithValues: root["cases"]!.objectMembers!.map { ($0.key, $0.value) })
    }()

    /// The case converted into `scratch` as `format` (with the adapter's language built in when `language` is given).
    func converted(_ format: WeightFormat, language: String?, scratch: ScratchDirectory) throws -> String {
        let path = scratch.file("\(name)-\(language ?? "own")-\(format.rawValue).unispeech")
        try NativeConversion.convert(hfDirectory: directory, to: path, format: format, targetLanguage: language)
        return path
    }
}

/// Max |a - b| over max |b|, NaN-aware: equal NaNs agree, a NaN against a number is an infinite error.
func familyRelativeError(_ a: [Float], _ b: [Float]) -> Float {
    var error: Float = 0, scale: Float = 0
    for (x, y) in zip(a, b) {
        if x.isNaN || y.isNaN {
            if x.isNaN != y.isNaN { return .infinity }
            continue
        }
        error = max(error, abs(x - y))
        scale = max(scale, abs(y))
    }
    return error / max(scale, .leastNormalMagnitude)
}

@Suite struct FamilyGoldenTests {
    @Test func casesCoverEveryFamilyAndHead() {
        let pairs = Set(FamilyCase.all.map { "\($0.modelType) \($0.head.rawValue)" })
        for family in ModelFamily.allCases {
            for head in family.heads { #expect(pairs.contains("\(family.rawValue) \(head.rawValue)"), "\(family) \(head)") }
        }
    }

    @Test(arguments: FamilyCase.all) func featureExtractorMatchesTransformers(_ golden: FamilyCase) throws {
        let bundle = try ModelBundle.open(path: golden.directory)
        let batch = FeatureExtractor(config: bundle.featureExtractor).makeBatch(try golden.waveforms())
        let reference = try SafetensorsReader(path: golden.directory + "/reference.safetensors")
        // Normalisation statistics in f64 vs numpy's f32: within 1e-5 of the largest value.
        #expect(relativeMaxError(batch.values, try reference.floats("input_values")) <= 1e-5)
        if reference.info("attention_mask") != nil {
            #expect(batch.attentionMask == (try reference.bytes(of: "attention_mask").load(as: Int32.self)))
        } else {
            #expect(batch.attentionMask == nil)
        }
    }

    @Test(arguments: FamilyCase.all) func hfDirectoryMatchesTransformers(_ golden: FamilyCase) throws {
        for (file, language) in golden.references {
            let output = try golden.run(golden.directory, language: language)
            let expected = try golden.expected(file)
            #expect(output.tensors.map(\.name) == golden.headOutputs + (0..<golden.hiddenStates).map(OutputName.hiddenState))
            #expect(Set(output.tensors.map(\.name)) == Set(expected.keys), "\(golden.name) \(file)")
            for tensor in output.tensors {
                guard let reference = expected[tensor.name] else { continue }
                #expect(tensor.shape == reference.shape, "\(golden.name) \(tensor.name)")
                // fp32 parity target: max abs error <= 1e-4 x max |reference|.
                let error = familyRelativeError(tensor.values, reference.values)
                #expect(error <= 1e-4, "\(golden.name) \(file) \(tensor.name): relative max error \(error)")
            }
        }
    }

    @Test(arguments: FamilyCase.all) func nativeFilesMatchTransformers(_ golden: FamilyCase) throws {
        let scratch = try ScratchDirectory("family")
        defer { scratch.remove() }
        for (file, language) in golden.references {
            for format in WeightFormat.allCases {
                try Self.expectNativeFile(try golden.converted(format, language: language, scratch: scratch), format: format,
                                          matches: golden, file: file, language: language)
            }
        }
    }

    /// `quantize` from the f32 file gives the f16 and int8 files `convert` gives, to the same bounds.
    @Test(arguments: FamilyCase.all) func quantizedFilesMatchTransformers(_ golden: FamilyCase) throws {
        let scratch = try ScratchDirectory("family")
        defer { scratch.remove() }
        for (file, language) in golden.references {
            let f32 = try golden.converted(.f32, language: language, scratch: scratch)
            for format in [WeightFormat.f16, .int8] {
                let path = scratch.file("\(golden.name)-\(language ?? "own")-quantized-\(format.rawValue).unispeech")
                try NativeConversion.quantize(native: f32, to: path, format: format)
                #expect(try NativeReader(path: path).header.targetLanguage == language)
                try Self.expectNativeFile(path, format: format, matches: golden, file: file, language: language)
            }
        }
    }

    /// Runs the native file at `path` (stored as `format`) on the case's inputs and compares every output with the
    /// reference `file` (made with `language`'s adapter when given).
    static func expectNativeFile(_ path: String, format: WeightFormat, matches golden: FamilyCase, file: String,
                                 language: String?) throws {
        let expected = try golden.expected(file)
        let output = try golden.run(path, language: language)
        #expect(Set(output.tensors.map(\.name)) == Set(expected.keys), "\(golden.name) \(format)")
        var references = expected
        // f16 weights, f32 compute: max abs error <= 2e-3 x max |reference|. Where rounding the weights to f16
        // alone moves transformers' own outputs further (12 of the 32 references: conv layers of 6-8 channels
        // feeding norms over as few; scripts/make_family_f16_golden.py), the file must instead give
        // transformers' outputs with those rounded weights within the f32 target, 1e-4.
        var f16Bound: Float = 2e-3
        if format == .f16 {
            let record = try golden.f16Record(file)
            let stored = try NativeReader(path: path).tensors.filter { $0.dtype == .f16 }.map(\.name)
            #expect(stored.sorted() == record.rounded, "the script rounds what an f16 file stores as f16")
            if let f16Reference = record.reference {
                references = try golden.expected(f16Reference)
                f16Bound = 1e-4
            }
        }
        for tensor in output.tensors {
            guard let reference = references[tensor.name] else { continue }
            #expect(tensor.shape == reference.shape)
            let label = "\(golden.name) \(file) \(format) \(tensor.name)"
            switch format {
            case .f32:
                // The HF directory's target: max abs error <= 1e-4 x max |reference|.
                let error = familyRelativeError(tensor.values, reference.values)
                #expect(error <= 1e-4, "\(label): relative max error \(error)")
            case .f16:
                let error = familyRelativeError(tensor.values, reference.values)
                #expect(error <= f16Bound, "\(label): relative max error \(error)")
            case .int8:
                guard tensor.values.count > 1 else { continue }
                let comparison = ModelVerifier.compare(tensor, NamedTensor(name: tensor.name, shape: reference.shape,
                                                                           values: reference.values),
                                                       head: output.head, frameLengths: output.frameLengths)
                // int8 target: cosine similarity >= 0.99 over the real frames.
                #expect(comparison.cosine >= 0.99, "\(label): cosine \(comparison.cosine)")
            }
        }
    }
}

@Suite struct FamilyVerifyTests {
    /// Whether the case's f16 file meets a codevector near tie: the pretraining heads that quantize (UniSpeech's and
    /// Wav2Vec2's). There 2 of the 3,434 codevector choices on the built-in signals flip at near ties of the random
    /// weights (agreement 99.94%, above the 99% threshold), and each flip replaces a whole frame of
    /// projected_quantized_states, whose cosine then falls to 0.99976-0.99985, under f16's default 0.9999.
    static func hasF16CodevectorNearTie(_ golden: FamilyCase) -> Bool {
        golden.head == .pretraining && ModelFamily(rawValue: golden.modelType)!.pretrainingQuantizes
    }

    /// Every family x head case (the MMS case with and without its language): f32, f16 and int8 files against the HF
    /// directory pass with the default thresholds of their format on the built-in signals, each head and each stage
    /// checked (--per-layer); the f16 files with a codevector near tie pass with --min-cosine 0.999 (and see the test
    /// below).
    @Test(arguments: FamilyCase.all) func verifyPassesNativeFilesAgainstTheHFDirectory(_ golden: FamilyCase) throws {
        let scratch = try ScratchDirectory("family-verify")
        defer { scratch.remove() }
        for (_, language) in golden.references {
            for format in WeightFormat.allCases {
                let path = try golden.converted(format, language: language, scratch: scratch)
                let minCosine = format == .f16 && Self.hasF16CodevectorNearTie(golden) ? 0.999 : nil
                let report = try ModelVerifier.verify(VerifyRequest(candidatePath: path, referencePath: golden.directory,
                                                                    minCosine: minCosine, perLayer: true, threads: 2,
                                                                    targetLanguage: language))
                // The default thresholds of the format (VerifyThresholds.defaults) on the built-in signals, per output
                // and per stage.
                #expect(report.passed, "\(golden.name) \(language ?? "") \(format): \(report.failures)")
                #expect(report.stages?.isEmpty == false && report.firstDivergentStage == nil)
                #expect(Set(report.outputs.map(\.head)) == [.base, golden.head])
            }
        }
    }

    /// With f16's default thresholds those files miss exactly one check, the cosine of projected_quantized_states,
    /// while the codevector choices agree on more than 99.9% of the frames.
    @Test(arguments: FamilyCase.all.filter(hasF16CodevectorNearTie))
    func f16PretrainingMissesOnlyTheQuantizedStatesCosineAtNearTies(_ golden: FamilyCase) throws {
        let scratch = try ScratchDirectory("family-verify")
        defer { scratch.remove() }
        let path = try golden.converted(.f16, language: nil, scratch: scratch)
        let report = try ModelVerifier.verify(VerifyRequest(candidatePath: path, referencePath: golden.directory, threads: 2))
        #expect(report.failures.count == 1 && report.failures.first?.contains(OutputName.projectedQuantizedStates) == true,
                "\(report.failures)")
        #expect(report.agreements.allSatisfy { $0.fraction > 0.999 }, "\(report.agreements)")
        #expect(report.outputs.filter { $0.name != OutputName.projectedQuantizedStates }.allSatisfy { $0.cosine >= 0.9999 })
    }
}

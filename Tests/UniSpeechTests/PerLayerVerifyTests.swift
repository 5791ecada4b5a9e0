import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCore
@testable import UniSpeechFormat
@testable import UniSpeechModels

/// `verify --per-layer`: stages named by transformers' module paths, accumulated and isolated figures, the first
/// divergent stage, its JSON, text and HTML.
@Suite struct PerLayerVerifyTests {
    /// transformers' module paths of every stage `config`'s forward passes through with `head`, in graph order
    /// (modeling_<family>.py of transformers 5.24, the base model's prefix left out).
    static func expectedStages(_ config: UniSpeechConfig, head: ModelHead) -> [String] {
        var names = config.convDim.indices.map { "feature_extractor.conv_layers.\($0)" }
        if config.family != .hubert || config.featProjLayerNorm { names.append("feature_projection.layer_norm") }
        names += ["feature_projection", "encoder.pos_conv_embed"]
        let layers = (0..<config.numHiddenLayers).map { "encoder.layers.\($0)" }
        names += config.doStableLayerNorm ? layers + ["encoder.layer_norm"] : ["encoder.layer_norm"] + layers
        if config.hasConvAdapter {
            if config.adapterOutputSize != config.hiddenSize { names.append("adapter.proj_layer_norm") }
            names += (0..<config.numAdapterLayers).map { "adapter.layers.\($0)" }
        }
        switch head {
        case .base: break
        case .ctc: names.append("lm_head")
        case .classification: names += ["projector", "classifier"]
        case .frameClassification: names.append("classifier")
        case .xvector: names += ["projector"] + config.tdnnDim.indices.map { "tdnn.\($0)" } + ["feature_extractor", "classifier"]
        case .pretraining:
            switch config.family {
            case .wav2vec2: names += ["project_hid", "quantizer", "project_q"]
            case .unispeech: names += ["quantizer", "project_q", "project_hid"]
            default: break  // UniSpeechSatForPreTraining runs no layer of its own in eval
            }
        }
        return names
    }

    /// Every family x head case's f32 file against its HF directory: the stages are transformers' modules in graph
    /// order, and each is exact (the same weights through the same kernels), so nothing diverges.
    @Test(arguments: FamilyCase.all) func f32FilesMatchTheirDirectoryStageByStage(_ golden: FamilyCase) throws {
        let scratch = try ScratchDirectory("per-layer")
        defer { scratch.remove() }
        let path = try golden.converted(.f32, language: nil, scratch: scratch)
        let report = try ModelVerifier.verify(VerifyRequest(candidatePath: path, referencePath: golden.directory, perLayer: true,
                                                            threads: 2))
        let config = try ModelBundle.open(path: golden.directory).config
        let stages = try #require(report.stages)
        #expect(stages.map(\.name) == Self.expectedStages(config, head: golden.head), "\(golden.name)")
        #expect(stages.allSatisfy { ($0.head == .base) == (Self.expectedStages(config, head: .base).contains($0.name)) })
        for stage in stages {
            // Same f32 weights, same kernels: no error at all, accumulated or isolated.
            #expect(stage.accumulated.maxAbsError == 0 && stage.isolated.maxAbsError == 0, "\(golden.name) \(stage.name)")
            #expect(stage.isolated.sqnr == .infinity)
        }
        #expect(report.firstDivergentStage == nil && report.passed, "\(golden.name): \(report.failures)")
        #expect(VerifyTests.schema.validate(report.json) == [])
    }

    /// A model with one layer's weight negated is reported with that layer as the first divergent stage, in several
    /// families and kinds of stage (conv, encoder, adapter and head layers).
    @Test(arguments: [
        ("golden/ctc_group_postln", "encoder.layers.0.feed_forward.output_dense.weight", "encoder.layers.0"),
        ("family/wavlm_ctc_layer", "feature_extractor.conv_layers.1.conv.weight", "feature_extractor.conv_layers.1"),
        ("family/hubert_ctc_layer_mask", "encoder.layers.0.attention.v_proj.weight", "encoder.layers.0"),
        ("family/data2vec_audio_ctc_adapter", "adapter.layers.0.conv.weight", "adapter.layers.0"),
        ("family/wav2vec2_xvector_group", "tdnn.1.kernel.weight", "tdnn.1"),
    ])
    func damagedLayerIsTheFirstDivergentStage(directory: String, tensor: String, stage expected: String) throws {
        let scratch = try ScratchDirectory("per-layer")
        defer { scratch.remove() }
        let damaged = try VerifyTests.damagedModel(directory: Fixtures.path(directory), tensor: tensor, in: scratch)
        let report = try ModelVerifier.verify(VerifyRequest(candidatePath: damaged.path, referencePath: damaged.reference,
                                                            perLayer: true, threads: 2))
        let stages = try #require(report.stages)
        let first = try #require(report.firstDivergentStage, "\(directory): nothing diverges")
        #expect(first.name == expected)
        // A negated weight misses even the loosest defaults, int8's: -7 to -4 dB here, but 13 dB for the post-LN
        // layer, whose residual and LayerNorm keep most of its output.
        #expect(!first.isolatedMeets(VerifyThresholds.defaults(for: .int8)), "\(first.isolated)")
        // Every other stage, fed the reference's input, is exact; accumulated, the damage carries on after it.
        let index = try #require(stages.firstIndex(of: first))
        for (position, stage) in stages.enumerated() where position != index {
            #expect(stage.isolated.maxAbsError == 0, "\(directory) \(stage.name)")
            #expect((stage.accumulated.maxAbsError == 0) == (position < index), "\(directory) \(stage.name)")
        }
        #expect(!report.passed && report.failures.contains { $0.contains("first divergent stage \(expected):") })
        let json = report.json
        #expect(VerifyTests.schema.validate(json) == [])
        #expect(json["first_divergent_stage"]?.stringValue == expected)
        #expect(report.text.contains(expected) && report.text.contains("<- first divergent"))
    }

    /// The demo CTC model's int8 file against its f32 file: no stage diverges under the default int8 thresholds.
    @Test func int8DemoModelHasNoDivergentStage() throws {
        let scratch = try ScratchDirectory("per-layer")
        defer { scratch.remove() }
        let f32 = scratch.file("demo-f32.unispeech"), int8 = scratch.file("demo-int8.unispeech")
        try NativeConversion.convert(hfDirectory: EvalGoldenTests.ctcModel, to: f32, format: .f32)
        try NativeConversion.convert(hfDirectory: EvalGoldenTests.ctcModel, to: int8, format: .int8)
        let report = try ModelVerifier.verify(VerifyRequest(candidatePath: int8, referencePath: f32, perLayer: true, threads: 2))
        let stages = try #require(report.stages)
        #expect(stages.map(\.name) == Self.expectedStages(try ModelBundle.open(path: f32).config, head: .ctc))
        #expect(report.thresholds == VerifyThresholds.defaults(for: .int8))
        #expect(report.firstDivergentStage == nil && report.passed, "\(report.failures)")
        // Quantisation error is real: the int8 convs and linear layers are not exact, the f32 norms are.
        #expect(stages.contains { $0.isolated.sqnr.isFinite } && stages.contains { $0.isolated.sqnr == .infinity })
        #expect(VerifyTests.schema.validate(report.json) == [])
        #expect(report.json["first_divergent_stage"] == .null)
    }

    /// `--html`: well-formed, one point per stage in each series of both plots, the first divergent stage tinted in
    /// the plots and the table; `--json` follows the schema; the per-layer options need --per-layer.
    @Test func commandLineWritesHTMLAndJSON() throws {
        let scratch = try ScratchDirectory("per-layer")
        defer { scratch.remove() }
        let damaged = try VerifyTests.damagedModel(in: scratch)
        let html = scratch.file("report.html")
        let result = try CLI.run(["verify", damaged.path, "--reference", damaged.reference, "--per-layer", "--json", "--html", html,
                                  "--threads", "1"])
        #expect(result.status == 1, "\(result.stderr)")
        let json = try JSONValue.parse(result.stdout, source: "stdout")
        #expect(VerifyTests.schema.validate(json) == [])
        #expect(json["first_divergent_stage"]?.stringValue == "encoder.layers.0")
        let stageNames = try #require(json["stages"]?.arrayValue).map { $0["name"]!.stringValue! }

        let root = try MarkupTree.parse(try String(contentsOfFile: html, encoding: .utf8))
        let plots = root.all("svg", className: "lines")
        #expect(plots.count == 2)
        for plot in plots {
            let series = plot.all("g", className: "series")
            #expect(series.count == 2, "accumulated and isolated")
            for group in series { #expect(group.all("circle", className: "point").count == stageNames.count) }
            #expect(plot.all("rect", className: "highlight").count == 1)
            #expect(plot.all("text", className: "highlight").map(\.text) == ["encoder.layers.0"])
            #expect(plot.all("line", className: "guide").count == 1, "the threshold")
        }
        let rows = root.all("table", className: "stages").first?.all("tr").dropFirst(2) ?? []
        #expect(rows.count == stageNames.count)
        #expect(root.all("tr", className: "divergent").flatMap { $0.all("td") }.map(\.text).contains("encoder.layers.0"))

        let passing = try CLI.run(["verify", damaged.reference, "--reference", damaged.reference, "--per-layer", "--threads", "1"])
        #expect(passing.status == 0, "\(passing.stderr)")
        #expect(passing.stdout.contains("first divergent stage: none"))
        let misuse = try CLI.run(["verify", damaged.path, "--reference", damaged.reference, "--html", scratch.file("x.html")])
        #expect(misuse.status == 2 && misuse.stderr.contains("--per-layer"))
        let overwrite = try CLI.run(["verify", damaged.path, "--reference", damaged.reference, "--per-layer", "--html", damaged.path])
        #expect(overwrite.status == 2 && overwrite.stderr.contains("refusing to overwrite an input file"))
    }

    @Test func figuresFollowTheirFormulas() {
        var sums = ErrorSums()
        sums.add([1, 2, 2.5, .nan], [1, 2, 3, .nan])
        let figures = sums.figures
        // |x|^2 = 14, |x - y|^2 = 0.25: SQNR = 10 log10(56) dB; equal NaNs are left out.
        #expect(abs(figures.sqnr - 10 * log10(56.0)) < 1e-12)
        #expect(abs(figures.cosine - 12.5 / (11.25 * 14).squareRoot()) < 1e-12)
        #expect(figures.maxAbsError == 0.5 && abs(figures.relativeError - 0.5 / 3) < 1e-12)
        var equal = ErrorSums()
        equal.add([1, -2], [1, -2])
        #expect(equal.figures.sqnr == .infinity && equal.figures.cosine == 1)
        var broken = ErrorSums()
        broken.add([1, .nan], [1, 2])
        #expect(broken.figures.cosine.isNaN && broken.figures.sqnr.isNaN)
        let stage = StageComparison(head: .base, name: "s", shape: [1, 2], accumulated: broken.figures, isolated: broken.figures)
        #expect(!stage.isolatedMeets(VerifyThresholds.defaults(for: .int8)), "NaN meets no threshold")
    }
}

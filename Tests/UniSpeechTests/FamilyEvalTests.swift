import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCore

/// One family case of Tests/Fixtures/family_eval/expected.json (scripts/make_family_eval_golden.py: transformers'
/// figures for each family's CTC and sequence-classification golden case on a four-line manifest of its inputs).
struct FamilyEvalCase: CustomTestStringConvertible, Sendable {
    let name: String
    let task: EvalTask
    var testDescription: String { name }

    static let expected: JSONValue = {
        let path = Fixtures.path("family_eval/expected.json")
        return try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path)
    }()
    static let all: [FamilyEvalCase] = [EvalTask.ctc, .classification].flatMap { task in
        expected[task.rawValue]!.arrayValue!.map { FamilyEvalCase(name: $0["case"]!.stringValue!, task: task) }
    }

    var golden: JSONValue { Self.expected[task.rawValue]!.arrayValue!.first { $0["case"]?.stringValue == name }! }
    var manifest: String { Fixtures.path("family_eval/\(name)/eval.jsonl") }

    /// The golden case's model with the script's tokenizer files beside it (CTC), in `scratch`.
    func model(in scratch: ScratchDirectory) throws -> String {
        try scratch.copyFiles(of: Fixtures.path("family/" + name))
        for file in ["vocab.json", "tokenizer_config.json", "special_tokens_map.json"] {
            let path = Fixtures.path("family_eval/\(name)/" + file)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.copyItem(atPath: path, toPath: scratch.file(file)) }
        }
        return scratch.path
    }
}

/// `eval` on every family's CTC and classification heads, against transformers: the HF directory and its f32 file.
@Suite struct FamilyEvalTests {
    @Test(arguments: FamilyEvalCase.all) func figuresEqualTransformers(_ golden: FamilyEvalCase) throws {
        let scratch = try ScratchDirectory("family-eval")
        defer { scratch.remove() }
        let directory = try golden.model(in: scratch)
        let native = scratch.file("model-f32.unispeech")
        try NativeConversion.convert(hfDirectory: directory, to: native, format: .f32)
        let report = try ModelEvaluator.evaluate(EvalRequest(manifestPath: golden.manifest, modelPaths: [directory, native], threads: 1))
        #expect(EvalGoldenTests.schema.validate(report.json) == [])
        let expected = golden.golden
        for model in 0..<2 {
            switch golden.task {
            case .ctc:
                let utterances = expected["utterances"]!.arrayValue!
                #expect(report.utterances.count == utterances.count)
                for (utterance, line) in zip(report.utterances, utterances) {
                    let result = try #require(utterance.results[model].ctc)
                    let name = "\(golden.name) \(report.modelName(model)) \(utterance.entry.audio)"
                    // Exact: the script keeps every frame's top two logits 3e-4 of the largest apart, more than the
                    // forward's 1e-4 parity bound can close; decoding equals batch_decode.
                    #expect(result.hypothesis == line["hypothesis"]!.stringValue!, "\(name)")
                    #expect(result.labelIDs == line["label_ids"]!.arrayValue!.map { $0.intValue! }, "\(name)")
                    #expect(result.frames == line["frames"]!.intValue!, "\(name)")
                    #expect(result.edits == EditCounts(
                        wordErrors: line["word_errors"]!.intValue!, words: line["words"]!.intValue!,
                        charErrors: line["char_errors"]!.intValue!, chars: line["chars"]!.intValue!,
                        exact: line["exact"]!.boolValue!), "\(name)")
                    // 1e-4 relative, as for the demo model (EvalGoldenTests): these losses are 1.8-16, far from the
                    // float32 rounding that matters near zero.
                    let loss = try #require(result.loss)
                    let goldenLoss = line["loss"]!.doubleValue!
                    #expect(abs(loss - goldenLoss) <= 1e-4 * abs(goldenLoss), "\(name): loss \(loss) vs \(goldenLoss)")
                }
                let summary = try #require(report.ctcSummary(model: model))
                let corpus = expected["corpus"]!
                // Exact: quotients of equal integers.
                #expect(summary.wer == corpus["wer"]!.doubleValue! && summary.cer == corpus["cer"]!.doubleValue!)
                #expect(summary.exactMatch == corpus["exact_match"]!.doubleValue!)
                let meanLoss = try #require(summary.meanLoss)
                #expect(abs(meanLoss - corpus["mean_loss"]!.doubleValue!) <= 1e-4 * corpus["mean_loss"]!.doubleValue!)
            case .classification:
                let summary = try #require(report.classificationSummary(model: model))
                // Exact: names and counts.
                #expect(summary.labels == expected["labels"]!.arrayValue!.map { $0.stringValue! })
                for (utterance, line) in zip(report.utterances, expected["files"]!.arrayValue!) {
                    let result = try #require(utterance.results[model].classification)
                    #expect(result.predicted == line["predicted"]!.stringValue!, "\(golden.name) \(utterance.entry.audio)")
                    #expect(result.labelID == line["label_id"]!.intValue!)
                }
                #expect(summary.correct == expected["correct"]!.intValue!)
                #expect(summary.accuracy == expected["accuracy"]!.doubleValue!)
                #expect(summary.confusion == expected["confusion"]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } })
            }
        }
    }

    /// The heads eval does not score are refused in one line naming the heads the model has.
    @Test func otherHeadsAreRefusedNamingTheHeads() throws {
        for name in ["wav2vec2_frame_weighted_layer", "wavlm_xvector_group_mask", "hubert_base_group", "unispeech_pretraining_layer"] {
            let golden = familyCase(name)
            let manifest = FamilyEvalCase(name: "wav2vec2_cls_group_mask", task: .classification).manifest
            do {
                _ = try ModelEvaluator.evaluate(EvalRequest(manifestPath: manifest, modelPaths: [golden.directory], threads: 1))
                Issue.record("\(name) was evaluated")
            } catch let EvalError.unsupportedModel(_, heads) {
                #expect(heads == (golden.head == .base ? ["base"] : ["base", golden.head.rawValue]), "\(name)")
            }
        }
    }
}

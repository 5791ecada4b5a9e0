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

/// `unispeech run` reports: decoded answers against transformers' outputs, JSON against schemas/run-output.schema.json.
struct RunOutputTests {
    static let schemaPath = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas/run-output.schema.json").path

    static func run(_ model: String, _ inputs: [String], head: ModelHead? = nil) throws -> RunReport {
        try ModelRun.run(RunRequest(modelPath: Fixtures.path(model), inputPaths: inputs.map(Fixtures.path),
                                    head: head, threads: 1))
    }

    static func expectValid(_ report: RunReport) throws {
        let errors = try JSONSchemaValidator(path: schemaPath).validate(report.json)
        #expect(errors.isEmpty, "\(errors)")
        // The printed text is the same JSON parsed back: json-c writes what it reads.
        let text = report.json.serialized(pretty: true)
        #expect(try JSONValue.parse(text, source: "run --json") == report.json)
    }

    @Test func classificationScoresAreTheSoftmaxOfTransformersLogits() throws {
        let report = try Self.run("golden/cls_mean_mask", ["golden/cls_mean_mask/input0.npy", "golden/cls_mean_mask/input1.npy"])
        try Self.expectValid(report)
        let reference = try SafetensorsReader(path: Fixtures.path("golden/cls_mean_mask/reference.safetensors"))
        let logits = try reference.floats("logits")  // [2, L] from transformers
        let labels = logits.count / 2
        for item in 0..<2 {
            guard case let .classes(scores) = report.meanings[item] else {
                Issue.record("input \(item) has no classes")
                continue
            }
            let row = logits[(item * labels)..<((item + 1) * labels)].map(Double.init)
            let total = row.map { exp($0 - row.max()!) }.reduce(0, +)
            let expectedBest = row.firstIndex(of: row.max()!)!
            #expect(scores.first?.id == expectedBest)
            #expect(scores.count == min(labels, HeadDecoding.defaultTopK))
            for score in scores {
                // Forward parity is 1e-4 relative on logits; softmax of logits within 1e-4 absolute.
                #expect(abs(score.score - exp(row[score.id] - row.max()!) / total) <= 1e-4)
                #expect(score.label == HeadDecoding.defaultLabel(score.id))
            }
        }
    }

    @Test func pretrainingReportsThePerplexityAndValidates() throws {
        let report = try Self.run("golden/pretraining", ["golden/pretraining/input0.npy"])
        try Self.expectValid(report)
        #expect(report.codevectorPerplexity != nil)
        #expect(report.json["codevector_perplexity"] != nil)
        #expect(report.meanings == [.none])
    }

    @Test func ctcWithoutVocabularyFallsBackToSummariesAndAudioIsResampled() throws {
        let report = try Self.run("golden/ctc_group_postln", ["audio/chirp-44k-stereo.wav", "golden/ctc_group_postln/input0.npy"])
        try Self.expectValid(report)
        #expect(report.meanings == [.none, .none])
        let golden = Fixtures.resampleGolden
        #expect(report.inputs[0].sampleCount == golden["resampled"]!.arrayValue!.count)
        #expect(report.inputs[0].sourceSampleRate == 44_100 && report.inputs[0].sourceChannels == 2)
        #expect(report.inputs[1].sourceSampleRate == nil)
        #expect(report.text.contains("44100 Hz, 2 channels -> 16000 Hz"))
    }

    @Test func unreadableAudioStopsTheRunNamingTheFile() throws {
        let path = Fixtures.path("audio/text.wav")
        #expect(throws: AudioError.unreadable(path: path, reason: "Format not recognised")) {
            try Self.run("golden/ctc_group_postln", ["audio/text.wav"])
        }
    }
}

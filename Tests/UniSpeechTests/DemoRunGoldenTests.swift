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

/// `unispeech run` on the demo's 44.1 kHz stereo wav against transformers fed the soxr-resampled mono signal
/// (scripts/make_run_golden.py).
struct DemoRunGoldenTests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    @Test func stereo44kLogitsAndTranscriptEqualTransformers() throws {
        let path = Fixtures.path("audio/run_golden_44k_stereo.json")
        let golden = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), source: path)
        let model = Self.repository.appendingPathComponent(golden["model"]!.stringValue!).path
        let audio = Self.repository.appendingPathComponent(golden["audio"]!.stringValue!).path
        let report = try ModelRun.run(RunRequest(modelPath: model, inputPaths: [audio], threads: 1))
        #expect(report.inputs[0].sampleCount == golden["resampled_samples"]!.intValue!)
        let logits = try #require(report.output["logits"])
        #expect(logits.shape == golden["logits_shape"]!.arrayValue!.map { $0.intValue! })
        let expected = golden["logits"]!.arrayValue!.map { Float($0.doubleValue!) }
        // Resampling is bit-exact with python-soxr here (AudioInputTests); the forward matches transformers within
        // 1e-4 of the largest |logit| (the model's golden tolerance), so the same bound holds end to end.
        #expect(relativeMaxError(logits.values, expected) <= 1e-4)
        guard case let .transcript(text, words) = report.meanings[0] else {
            Issue.record("no transcript")
            return
        }
        // Exact: greedy ids agree (no near ties in this file) and decoding equals Wav2Vec2CTCTokenizer.
        #expect(text == golden["transcript"]!.stringValue!)
        let expectedWords = golden["word_offsets"]!.arrayValue!.map {
            WordOffset(word: $0["word"]!.stringValue!, startFrame: $0["start_offset"]!.intValue!, endFrame: $0["end_offset"]!.intValue!)
        }
        #expect(words.map { WordOffset(word: $0.word, startFrame: $0.startFrame, endFrame: $0.endFrame) } == expectedWords)
    }
}

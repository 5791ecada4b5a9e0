import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechAudio
@testable import UniSpeechCore
@testable import UniSpeechModels

/// Chunked long audio against transformers' ASR pipeline (scripts/make_chunk_golden.py,
/// Tests/Fixtures/chunking/expected.json): six chunk / stride settings on a 29.7 s recording rebuilt from the
/// examples by the recipe the fixture holds.
struct ChunkedTranscriptionTests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static let golden: JSONValue = {
        let path = Fixtures.path("chunking/expected.json")
        return try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path)
    }()

    /// The recording of the recipe: the files in order, `repeats` times, `gap_samples` zeros between pieces.
    static func recording() throws -> [Float] {
        let recipe = golden["recording"]!
        let gap = [Float](repeating: 0, count: recipe["gap_samples"]!.intValue!)
        var samples: [Float] = []
        for _ in 0..<recipe["repeats"]!.intValue! {
            for file in recipe["files"]!.arrayValue! {
                let audio = try AudioFile.read(path: repository.appendingPathComponent(file.stringValue!).path)
                #expect(audio.sampleRate == 16_000 && audio.channels == 1)
                if !samples.isEmpty { samples += gap }
                samples += audio.samples
            }
        }
        return samples
    }

    /// The recording written as a 16 kHz 16-bit WAV (exact: every sample is an int16 / 32768) in `scratch`.
    static func recordingFile(in scratch: ScratchDirectory) throws -> String {
        let samples = try recording()
        let recipe = golden["recording"]!
        #expect(samples.count == recipe["total_samples"]!.intValue!)
        // Sums of the f32 samples in f64, as numpy gives them: exact for values k / 32768.
        #expect(samples.reduce(0.0) { $0 + Double($1) } == recipe["sum"]!.doubleValue!)
        #expect(samples.reduce(0.0) { $0 + abs(Double($1)) } == recipe["sum_abs"]!.doubleValue!)
        return try scratch.write("recording.wav", WAVBytes.pcm16(samples, channels: 1, rate: 16_000))
    }

    static func model() throws -> SpeechModel {
        try SpeechModel(path: repository.appendingPathComponent(golden["model"]!.stringValue!).path, threads: 1)
    }

    static func settings(_ setting: JSONValue) -> ChunkSettings? {
        guard let length = setting["chunk_length_s"]?.doubleValue else { return nil }
        let stride = setting["stride_length_s"]!
        return ChunkSettings(length: length, stride: stride.isNull ? nil : (stride.arrayValue?.map { $0.doubleValue! } ?? [stride.doubleValue!]))
    }

    static func expectWords(_ words: [TimedWord], _ setting: JSONValue, _ name: String) {
        let expected = setting["words"]!.arrayValue!
        #expect(words.count == expected.count, "\(name)")
        for (word, want) in zip(words, expected) {
            let times = want["timestamp"]!.arrayValue!.map { $0.doubleValue! }
            // Exact: the same frame index times 320, divided by 16000, in f64 on both sides.
            #expect(word.word == want["text"]!.stringValue! && word.startTime == times[0] && word.endTime == times[1], "\(name)")
        }
    }

    @Test func everySettingJoinsThePipelinesIDsFrameForFrame() throws {
        let scratch = try ScratchDirectory("chunking")
        let path = try Self.recordingFile(in: scratch)
        let model = try Self.model()
        for (name, setting) in Self.golden["settings"]!.objectMembers! {
            let expectedIDs = setting["ids"]!.arrayValue!.map { $0.intValue! }
            guard let settings = Self.settings(setting) else {
                // Unchunked: the whole recording through the model once.
                let input = try model.load(path: path)
                let output = try model.run(model.batch([input.samples]), head: .ctc)
                let logits = try #require(output[OutputName.logits])
                let ids = HeadDecoding.greedyIDs(logits: logits.values, item: 0, frames: output.frameLengths[0],
                                                 paddedFrames: logits.shape[1], vocabularySize: logits.shape[2])
                // Exact ids: the smallest top-1 / top-2 margin of the pipeline's logits is 0.0096, far above the
                // forward's 1e-4 agreement with transformers.
                #expect(ids == expectedIDs, "\(name)")
                guard case let .transcript(text, words)? = try model.decode(output).first else {
                    Issue.record("no transcript")
                    continue
                }
                #expect(text == setting["text"]!.stringValue!)
                Self.expectWords(words, setting, name)
                continue
            }
            let plan = try ChunkPlan(settings, samplingRate: 16_000, frameSamples: 320)
            let chunks = setting["chunks"]!.arrayValue!
            // The plan cuts the chunks the pipeline cut, and drops the strides it dropped.
            let total = Self.golden["recording"]!["total_samples"]!.intValue!
            for (index, chunk) in chunks.enumerated() {
                let sampleStride = chunk["sample_stride"]!.arrayValue!.map { $0.intValue! }
                let logitStride = chunk["logit_stride"]!.arrayValue!.map { $0.intValue! }
                let start = index * plan.step, isLast = index == chunks.count - 1
                #expect(sampleStride == [min(plan.chunkSamples, total - start), index == 0 ? 0 : plan.strideLeft,
                                         isLast ? 0 : plan.strideRight], "\(name) chunk \(index)")
                let kept = plan.keptFrames(chunkSamples: sampleStride[0], isFirst: index == 0, isLast: isLast,
                                           frames: chunk["logit_frames"]!.intValue!)
                #expect(kept == ChunkPlan.pythonSlice(logitStride[1], logitStride[0] - logitStride[2],
                                                     count: chunk["logit_frames"]!.intValue!), "\(name) chunk \(index)")
            }
            let transcript = try ChunkedTranscription.transcribe(path: path, model: model, plan: plan)
            // Exact ids: the smallest kept top-1 / top-2 margin is 0.0039 (min_top2_margin), far above the forward's
            // 1e-4 agreement with transformers.
            #expect(transcript.ids == expectedIDs, "\(name)")
            #expect(transcript.ids.count == setting["joined_frames"]!.intValue!)
            #expect(transcript.chunks == chunks.count, "\(name)")
            #expect(transcript.input.sampleCount == total)
            #expect(transcript.text == setting["text"]!.stringValue!, "\(name)")
            Self.expectWords(transcript.words, setting, name)
        }
    }

    @Test func roundingIsHalfToEvenAndBadSettingsAreRefused() throws {
        // 3.01 s = 150.5 frames -> 150; 0.25 s = 12.5 frames -> 12 (Python's round).
        let plan = try ChunkPlan(ChunkSettings(length: 3.01, stride: [0.25]), samplingRate: 16_000, frameSamples: 320)
        #expect(plan.chunkSamples == 48_000 && plan.strideLeft == 3_840 && plan.strideRight == 3_840)
        let defaults = try ChunkPlan(ChunkSettings(length: 4), samplingRate: 16_000, frameSamples: 320)
        #expect(defaults.strideLeft == 10_560 && defaults.strideRight == 10_560 && defaults.step == 42_880)
        #expect(throws: ChunkError.strideNotShorter(chunkSamples: 32_000, left: 16_000, right: 16_000)) {
            try ChunkPlan(ChunkSettings(length: 2, stride: [1]), samplingRate: 16_000, frameSamples: 320)
        }
        #expect(throws: ChunkError.lengthRoundsToNothing(seconds: 0.01, frameSamples: 320, samplingRate: 16_000)) {
            try ChunkPlan(ChunkSettings(length: 0.01), samplingRate: 16_000, frameSamples: 320)
        }
        #expect(throws: ChunkError.badLength(seconds: -1)) { try ChunkPlan(ChunkSettings(length: -1), samplingRate: 16_000, frameSamples: 320) }
        #expect(throws: ChunkError.badStride(seconds: [1, 2, 3])) {
            try ChunkPlan(ChunkSettings(length: 10, stride: [1, 2, 3]), samplingRate: 16_000, frameSamples: 320)
        }
        #expect(ChunkPlan.pythonSlice(5, 3, count: 10) == 5..<5 && ChunkPlan.pythonSlice(2, 20, count: 10) == 2..<10
                && ChunkPlan.pythonSlice(1, -2, count: 10) == 1..<8)
    }
}

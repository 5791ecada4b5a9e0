import Foundation
import Testing
import TestSupport
@testable import UniSpeechModels
@testable import UniSpeechKernels
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

/// CTC decoding against transformers' Wav2Vec2CTCTokenizer (fixtures from scripts/make_decoder_fixtures.py).
struct CTCTokenizerTests {
    struct Case {
        var name: String
        var tokenizer: CTCTokenizer
        var skipSpecialTokens: Bool
        var sequences: [[Int]]
        var expected: [CTCTranscript]
    }

    static func cases() throws -> [Case] {
        let path = Fixtures.path("decoders/ctc_decoder_cases.json")
        let root = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), source: path)
        return try (root["cases"]?.arrayValue ?? []).map { item in
            let files = item["files"]!
            let name = item["name"]!.stringValue!
            let tokenizer = try CTCTokenizer(
                vocabulary: files["vocab.json"], tokenizerConfig: files["tokenizer_config.json"],
                specialTokensMap: files["special_tokens_map.json"], source: name)
            let sequences = item["sequences"]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } }
            let expected = item["expected"]!.arrayValue!.map { result in
                CTCTranscript(text: result["text"]!.stringValue!, wordOffsets: result["word_offsets"]!.arrayValue!.map {
                    WordOffset(word: $0["word"]!.stringValue!, startFrame: $0["start_offset"]!.intValue!,
                               endFrame: $0["end_offset"]!.intValue!)
                })
            }
            return Case(name: name, tokenizer: tokenizer, skipSpecialTokens: item["skip_special_tokens"]!.boolValue!,
                        sequences: sequences, expected: expected)
        }
    }

    @Test func fixtureHoldsEveryCase() throws {
        #expect(try Self.cases().count == 10)
    }

    @Test func transcriptsAndWordOffsetsEqualTransformers() throws {
        for testCase in try Self.cases() {
            for (sequence, expected) in zip(testCase.sequences, testCase.expected) {
                let decoded = testCase.tokenizer.decode(sequence, skipSpecialTokens: testCase.skipSpecialTokens)
                // Exact: text and integer frame offsets must be identical to transformers'.
                #expect(decoded == expected, "\(testCase.name): \(sequence)")
            }
        }
    }

    @Test func wordTimesUseTheConvStrideProduct() {
        var config = UniSpeechConfig()
        config.convStride = [5, 4, 4, 2, 2]
        // 320 samples per frame at 16 kHz: 0.02 s per frame, exactly as transformers' inputs_to_logits_ratio.
        #expect(config.inputsToLogitsRatio == 320)
        let word = WordOffset(word: "ONE", startFrame: 12, endFrame: 30)
        let timed = TimedWord(word, samplesPerFrame: config.inputsToLogitsRatio, samplingRate: 16_000)
        #expect(timed.startTime == 0.24 && timed.endTime == 0.6)
    }

    @Test func missingVocabularyIsAnError() {
        #expect(throws: TokenizerError.missingVocabulary(source: "model")) {
            try CTCTokenizer(vocabulary: nil, tokenizerConfig: nil, specialTokensMap: nil, source: "model")
        }
    }

    @Test func badVocabularyEntriesAreNamed() throws {
        let vocabulary = try JSONValue.parse(#"{"<pad>": 0, "a": "one"}"#, source: "vocab.json")
        #expect(throws: TokenizerError.badVocabulary(source: "m", reason: #"maps 'a' to "one", not a non-negative id"#)) {
            try CTCTokenizer(vocabulary: vocabulary, tokenizerConfig: nil, specialTokensMap: nil, source: "m")
        }
        let nested = try JSONValue.parse(#"{"eng": {"<pad>": 0}}"#, source: "vocab.json")
        #expect(throws: TokenizerError.badVocabulary(source: "m", reason: "is nested by language but the tokenizer sets no target_lang")) {
            try CTCTokenizer(vocabulary: nested, tokenizerConfig: nil, specialTokensMap: nil, source: "m")
        }
    }

    @Test func hugeModelMaxLengthInTokenizerConfigParses() throws {
        // transformers writes model_max_length = int(1e30), beyond Int64; the config must still load.
        let config = try JSONValue.parse(#"{"do_lower_case": true, "model_max_length": 1000000000000000019884624838656}"#,
                                         source: "tokenizer_config.json")
        let vocabulary = try JSONValue.parse(#"{"<pad>": 0, "|": 1, "A": 2}"#, source: "vocab.json")
        let tokenizer = try CTCTokenizer(vocabulary: vocabulary, tokenizerConfig: config, specialTokensMap: nil, source: "m")
        #expect(tokenizer.decode([2, 2, 0, 2, 1, 2]).text == "aa a")
    }
}

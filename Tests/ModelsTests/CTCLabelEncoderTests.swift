import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore
@testable import UniSpeechModels

/// Reference text -> CTC labels against transformers' Wav2Vec2CTCTokenizer (Tests/Fixtures/eval/ctc_cases.json from
/// scripts/make_ctc_cases.py): the demo model's tokenizer, every tokenizer of the decoder fixtures, and two crafted ones.
struct CTCLabelEncoderTests {
    static let fixture: JSONValue = {
        let path = Fixtures.path("eval/ctc_cases.json")
        return try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path)
    }()

    /// The tokenizer files of a label-encoding case: a model directory, a case of the decoder fixtures, or inline.
    static func tokenizer(for item: JSONValue) throws -> CTCTokenizer {
        let name = item["name"]!.stringValue!
        var files: [String: JSONValue] = [:]
        if let model = item["model"]?.stringValue {
            let directory = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(model)
            for file in ["vocab.json", "tokenizer_config.json", "special_tokens_map.json"] {
                let path = directory.appendingPathComponent(file).path
                if let data = FileManager.default.contents(atPath: path) { files[file] = try JSONValue.parse([UInt8](data), source: path) }
            }
        } else if let decoderCase = item["decoder_case"]?.stringValue {
            let path = Fixtures.path("decoders/ctc_decoder_cases.json")
            let decoders = try JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path)
            let match = decoders["cases"]!.arrayValue!.first { $0["name"]?.stringValue == decoderCase }!
            for member in match["files"]!.objectMembers! { files[member.key] = member.value }
        } else {
            for member in item["files"]!.objectMembers! { files[member.key] = member.value }
        }
        return try CTCTokenizer(vocabulary: files["vocab.json"], tokenizerConfig: files["tokenizer_config.json"],
                                specialTokensMap: files["special_tokens_map.json"], source: name)
    }

    @Test func fixtureCoversEveryTokenizer() {
        // The demo model, seven distinct tokenizers of the decoder fixtures, two crafted ones.
        #expect(Self.fixture["label_encoding"]!.arrayValue!.count == 10)
    }

    @Test func labelsEqualTransformers() throws {
        for item in Self.fixture["label_encoding"]!.arrayValue! {
            let tokenizer = try Self.tokenizer(for: item)
            for encoding in item["encodings"]!.arrayValue! {
                let text = encoding["text"]!.stringValue!
                let expected = encoding["ids"]!.arrayValue!.map { $0.intValue! }
                // Exact: label ids are integers.
                #expect(try tokenizer.labels(for: text) == expected, "\(item["name"]!.stringValue!): \(text.debugDescription)")
            }
        }
    }

    @Test func trieSplitsOnTheLongestMatchThatStartsFirst() {
        func points(_ text: String) -> [Unicode.Scalar] { Array(text.unicodeScalars) }
        let trie = AddedTokenTrie([points("ab"), points("abc"), points("bcd"), points("<s>"), points("</s>")])
        func split(_ text: String) -> [String] { trie.split(points(text)).map { String(String.UnicodeScalarView($0)) } }
        #expect(split("xabcdx") == ["x", "abc", "dx"])
        #expect(split("ab") == ["ab"])
        #expect(split("<s>a</s>") == ["<s>", "a", "</s>"])
        #expect(split("") == [])
        #expect(split("zzz") == ["zzz"])
    }

    @Test func pythonWhitespaceIncludesTheInformationSeparators() {
        // str.isspace(): the Unicode White_Space code points plus U+001C...U+001F.
        #expect(PythonText.split("\u{1C}a\u{A0}b\u{3000}c\t") == ["a", "b", "c"])
        #expect(PythonText.isSpace("\u{85}"))
        #expect(!PythonText.isSpace("\u{200B}"))
    }

    @Test func aNullWordDelimiterCannotEncodeText() throws {
        let tokenizer = try CTCTokenizer(
            vocabulary: .object([("<pad>", .int(0)), ("<unk>", .int(1)), ("a", .int(2))]),
            tokenizerConfig: .object([("word_delimiter_token", .null)]), specialTokensMap: nil, source: "crafted")
        #expect(throws: LabelEncodingError.noWordDelimiter(source: "crafted")) { try tokenizer.labels(for: "a") }
        // Text made only of added tokens never reaches the delimiter.
        #expect(try tokenizer.labels(for: "<pad>") == [0])
    }
}

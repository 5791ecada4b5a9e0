import Foundation
import UniSpeechCore

/// Why a CTC vocabulary or tokenizer configuration could not be used.
public enum TokenizerError: LocalizedError, Equatable {
    case missingVocabulary(source: String)
    case badVocabulary(source: String, reason: String)
    case badTokenizerConfig(source: String, field: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .missingVocabulary(source):
            return "\(source): no vocab.json; a CTC model needs its vocabulary to print transcripts"
        case let .badVocabulary(source, reason): return "\(source): vocab.json \(reason)"
        case let .badTokenizerConfig(source, field, reason): return "\(source): tokenizer field '\(field)' \(reason)"
        }
    }
}

/// One word of a CTC transcript with its span in logit frames (end exclusive), as
/// transformers' `decode(..., output_word_offsets=True)` reports it.
public struct WordOffset: Sendable, Equatable {
    public var word: String
    public var startFrame: Int
    public var endFrame: Int

    public init(word: String, startFrame: Int, endFrame: Int) {
        self.word = word
        self.startFrame = startFrame
        self.endFrame = endFrame
    }
}

/// A decoded CTC sequence: the text and its word offsets.
public struct CTCTranscript: Sendable, Equatable {
    public var text: String
    public var wordOffsets: [WordOffset]
}

/// Greedy CTC decoding equal to transformers' `Wav2Vec2CTCTokenizer.decode` / `batch_decode`:
/// ids to tokens, repeats grouped, the pad token dropped as the blank, the word delimiter replaced
/// by a space, the result stripped, lowercased when `do_lower_case`.
public struct CTCTokenizer: Sendable {
    /// Token names of the defaults transformers uses when the tokenizer files do not name them.
    public enum Default {
        static let unknownToken = "<unk>"
        static let namedTokens: [(key: String, value: String)] = [
            ("bos_token", "<s>"), ("eos_token", "</s>"), ("unk_token", unknownToken), ("pad_token", "<pad>"),
        ]
        static let wordDelimiterKey = "word_delimiter_token"
        static let wordDelimiterToken = "|"
        static let replaceWordDelimiterChar = " "
    }

    /// Named special-token keys transformers knows (`SPECIAL_TOKENS_ATTRIBUTES`).
    static let namedTokenKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                                 "mask_token"]

    /// id -> token: the vocabulary, then added tokens for ids outside it.
    public let tokens: [Int: String]
    /// The CTC blank; nil when the tokenizer sets `pad_token` to null.
    public let padToken: String?
    /// Read for ids outside the vocabulary (`<unk>` also when the tokenizer sets it to null).
    public let unkToken: String
    /// Replaced by `replaceWordDelimiterChar`; nil when the tokenizer sets it to null.
    public let wordDelimiterToken: String?
    public let replaceWordDelimiterChar: String
    public let doLowerCase: Bool
    public let cleanUpTokenizationSpaces: Bool
    /// Every special token (named, extra, and other `*_token` fields); skipped on request.
    public let specialTokens: Set<String>
    /// Reference text -> CTC labels, as transformers encodes it with this tokenizer.
    public let labelEncoder: CTCLabelEncoder

    /// Builds the tokenizer from vocab.json and the optional tokenizer_config.json / special_tokens_map.json,
    /// with transformers' precedence: special_tokens_map.json overrides only configs without `added_tokens_decoder`.
    public init(vocabulary: JSONValue?, tokenizerConfig: JSONValue?, specialTokensMap: JSONValue?,
                source: String) throws {
        guard let vocabulary else { throw TokenizerError.missingVocabulary(source: source) }
        var settings: [(key: String, value: JSONValue)] = tokenizerConfig?.objectMembers ?? []
        if tokenizerConfig?["added_tokens_decoder"] == nil, let map = specialTokensMap?.objectMembers {
            for member in map {
                settings.removeAll { $0.key == member.key }
                settings.append(member)
            }
        }
        func setting(_ key: String) -> JSONValue? { settings.last { $0.key == key }?.value }
        func tokenString(_ key: String, _ value: JSONValue) throws -> String? {
            switch value {
            case .null: return nil
            case let .string(text): return text
            case .object:
                guard let content = value["content"]?.stringValue else {
                    throw TokenizerError.badTokenizerConfig(source: source, field: key, reason: "has no string 'content'")
                }
                return content
            default:
                throw TokenizerError.badTokenizerConfig(source: source, field: key, reason: "is neither a string nor a token object")
            }
        }
        func flag(_ key: String) throws -> Bool {
            guard let value = setting(key), !value.isNull else { return false }
            guard let result = value.boolValue else {
                throw TokenizerError.badTokenizerConfig(source: source, field: key, reason: "is not true or false")
            }
            return result
        }

        // Special tokens in transformers' `all_special_tokens` order: named, model-specific `*_token`, extra.
        var named: [String: String] = Dictionary(uniqueKeysWithValues: Default.namedTokens.map { ($0.key, $0.value) })
        var modelSpecific: [(key: String, token: String?)] = [(Default.wordDelimiterKey, Default.wordDelimiterToken)]
        for member in settings where member.key.hasSuffix("_token") {
            let value = try tokenString(member.key, member.value)
            if Self.namedTokenKeys.contains(member.key) {
                named[member.key] = value
            } else {
                modelSpecific.removeAll { $0.key == member.key }
                modelSpecific.append((member.key, value))
            }
        }
        var extra: [String] = []
        for key in ["extra_special_tokens", "additional_special_tokens"] {
            guard let value = setting(key), !value.isNull else { continue }
            if let list = value.arrayValue {
                for item in list { if let token = try tokenString(key, item) { extra.append(token) } }
            } else if let members = value.objectMembers {
                for member in members { if let token = try tokenString(key, member.value) { extra.append(token) } }
            } else {
                throw TokenizerError.badTokenizerConfig(source: source, field: key, reason: "is neither a list nor an object")
            }
        }
        var orderedSpecial: [String] = []
        for token in Self.namedTokenKeys.compactMap({ named[$0] }) + modelSpecific.compactMap(\.token) + extra
        where !orderedSpecial.contains(token) {
            orderedSpecial.append(token)
        }
        padToken = named["pad_token"]
        unkToken = named["unk_token"] ?? Default.unknownToken
        wordDelimiterToken = modelSpecific.first { $0.key == Default.wordDelimiterKey }?.token
        specialTokens = Set(orderedSpecial)
        doLowerCase = try flag("do_lower_case")
        cleanUpTokenizationSpaces = try flag("clean_up_tokenization_spaces")
        if let value = setting("replace_word_delimiter_char"), !value.isNull {
            guard let text = value.stringValue else {
                throw TokenizerError.badTokenizerConfig(source: source, field: "replace_word_delimiter_char", reason: "is not a string")
            }
            replaceWordDelimiterChar = text
        } else {
            replaceWordDelimiterChar = Default.replaceWordDelimiterChar
        }

        let members = try Self.vocabularyMembers(vocabulary, targetLanguage: setting("target_lang")?.stringValue, source: source)
        var table: [Int: String] = [:]
        for member in members { table[member.id] = member.token }
        var configAdded: [AddedTokenEntry] = []
        if let added = setting("added_tokens_decoder")?.objectMembers {
            for member in added {
                guard let id = Int(member.key), let content = try tokenString("added_tokens_decoder", member.value) else {
                    throw TokenizerError.badTokenizerConfig(source: source, field: "added_tokens_decoder",
                                                            reason: "entry '\(member.key)' is not an id with a token")
                }
                if table[id] == nil { table[id] = content }
                func isSet(_ key: String) -> Bool { member.value[key]?.boolValue ?? false }
                configAdded.append(AddedTokenEntry(id: id, content: content, flags: AddedTokenFlags(
                    lstrip: isSet("lstrip"), rstrip: isSet("rstrip"), singleWord: isSet("single_word"))))
            }
        }
        // Special tokens found nowhere get the next ids, as transformers adds them when it loads the tokenizer.
        let known = Set(table.values)
        for token in orderedSpecial where !known.contains(token) {
            table[table.count] = token
        }
        tokens = table
        labelEncoder = CTCLabelEncoder(vocabulary: members, configAdded: configAdded, specialTokens: orderedSpecial,
                                       wordDelimiter: wordDelimiterToken, unkToken: unkToken, doLowerCase: doLowerCase,
                                       source: source)
    }

    /// The (token, id) pairs of a flat vocabulary, or of one language of a nested one, in file order.
    private static func vocabularyMembers(_ vocabulary: JSONValue, targetLanguage: String?, source: String) throws
        -> [(token: String, id: Int)] {
        guard var members = vocabulary.objectMembers else {
            throw TokenizerError.badVocabulary(source: source, reason: "is not a JSON object of token -> id")
        }
        if let targetLanguage {
            guard let nested = vocabulary[targetLanguage]?.objectMembers else {
                throw TokenizerError.badVocabulary(source: source, reason: "has no language '\(targetLanguage)' (target_lang)")
            }
            members = nested
        } else if members.contains(where: { $0.value.objectMembers != nil }) {
            throw TokenizerError.badVocabulary(source: source, reason: "is nested by language but the tokenizer sets no target_lang")
        }
        let pairs = try members.map { member in
            guard let id = member.value.intValue, id >= 0 else {
                throw TokenizerError.badVocabulary(source: source, reason: "maps '\(member.key)' to \(member.value.serialized()), not a non-negative id")
            }
            return (token: member.key, id: id)
        }
        guard !pairs.isEmpty else { throw TokenizerError.badVocabulary(source: source, reason: "is empty") }
        return pairs
    }

    /// The token of an id; ids outside the vocabulary read as the unknown token.
    public func token(_ id: Int) -> String { tokens[id] ?? unkToken }

    /// Decodes one sequence of frame ids (argmax per frame) to text and word offsets.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> CTCTranscript {
        var kept = ids.map(token)
        if skipSpecialTokens {
            kept.removeAll { specialTokens.contains($0) && $0 != wordDelimiterToken }
        }
        // Groups of equal consecutive tokens with their frame spans, blanks dropped.
        let characters: [(text: String, start: Int, end: Int)] = ctcRuns(kept, blank: padToken).map { token, frames in
            (token == wordDelimiterToken ? replaceWordDelimiterChar : token, frames.lowerBound, frames.upperBound)
        }
        var text = characters.map(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines)
        if doLowerCase { text = text.lowercased() }
        if cleanUpTokenizationSpaces { text = Self.cleanUpTokenization(text) }
        return CTCTranscript(text: text, wordOffsets: wordOffsets(characters))
    }

    /// Words between delimiter characters, as transformers' `_get_word_offsets` (not lowercased).
    private func wordOffsets(_ characters: [(text: String, start: Int, end: Int)]) -> [WordOffset] {
        var words: [WordOffset] = []
        var inWord = false
        var current = WordOffset(word: "", startFrame: 0, endFrame: 0)
        for character in characters {
            let isSpace = character.text == replaceWordDelimiterChar
            if isSpace == !inWord {
                current.endFrame = character.end
                current.word += character.text
            } else if isSpace {
                words.append(current)
            } else {
                current = WordOffset(word: character.text, startFrame: character.start, endFrame: character.end)
            }
            inWord = !isSpace
        }
        if inWord { words.append(current) }
        return words
    }

    /// transformers' `clean_up_tokenization`: spaces before punctuation and English contractions removed.
    static func cleanUpTokenization(_ text: String) -> String {
        let rules = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                     (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]
        return rules.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }
}

/// A word of a transcript with its times in seconds: frame x inputs_to_logits_ratio / sampling_rate.
public struct TimedWord: Sendable, Equatable {
    public var word: String
    public var startFrame: Int
    public var endFrame: Int
    public var startTime: Double
    public var endTime: Double

    /// Times from frame offsets; one division each, so 12 frames of 320 samples at 16 kHz is exactly 0.24.
    public init(_ offset: WordOffset, samplesPerFrame: Int, samplingRate: Double) {
        word = offset.word
        startFrame = offset.startFrame
        endFrame = offset.endFrame
        startTime = Double(offset.startFrame * samplesPerFrame) / samplingRate
        endTime = Double(offset.endFrame * samplesPerFrame) / samplingRate
    }
}

/// The runs of equal consecutive items with their index ranges, runs of `blank` left out: CTC's greedy collapse.
func ctcRuns<Item: Equatable>(_ items: [Item], blank: Item?) -> [(item: Item, range: Range<Int>)] {
    var runs: [(item: Item, range: Range<Int>)] = []
    var start = 0
    while start < items.count {
        var end = start + 1
        while end < items.count && items[end] == items[start] { end += 1 }
        if items[start] != blank { runs.append((items[start], start..<end)) }
        start = end
    }
    return runs
}

extension UniSpeechConfig {
    /// Input samples per logit frame, the product of `conv_stride` (transformers' `inputs_to_logits_ratio`).
    public var inputsToLogitsRatio: Int { convStride.reduce(1, *) }
}

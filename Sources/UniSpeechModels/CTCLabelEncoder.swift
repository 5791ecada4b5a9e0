import Foundation
import UniSpeechCore

/// Why a reference text could not be turned into CTC labels.
public enum LabelEncodingError: LocalizedError, Equatable {
    case noWordDelimiter(source: String)
    case noUnknownToken(source: String, character: String, unkToken: String)

    public var errorDescription: String? {
        switch self {
        case let .noWordDelimiter(source):
            return "\(source): the tokenizer sets word_delimiter_token to null, so text cannot be encoded into labels"
        case let .noUnknownToken(source, character, unkToken):
            return "\(source): '\(character)' is not in the vocabulary and neither is the unknown token '\(unkToken)'"
        }
    }
}

/// How an added token treats the text around it (transformers' `AddedToken` flags).
public struct AddedTokenFlags: Sendable, Equatable {
    /// Whitespace before the token is removed.
    public var lstrip = false
    /// Whitespace after the token is removed.
    public var rstrip = false
    /// The token only counts when it stands alone between spaces.
    public var singleWord = false

    public init(lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false) {
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
    }
}

/// An entry of tokenizer_config.json's `added_tokens_decoder`.
public struct AddedTokenEntry: Sendable, Equatable {
    public var id: Int
    public var content: String
    public var flags: AddedTokenFlags
}

/// Text -> CTC label ids exactly as `Wav2Vec2CTCTokenizer(text).input_ids` gives them (transformers 5.x):
/// the text is split on the added tokens (a trie, longest match), whitespace next to tokens with lstrip / rstrip
/// is removed, every other piece is upper-cased when `do_lower_case`, each space becomes the word delimiter, and
/// each code point is looked up (added tokens, then the vocabulary, then the unknown token). No BOS / EOS.
public struct CTCLabelEncoder: Sendable {
    /// A text as Python sees it: a sequence of code points.
    typealias CodePoints = [Unicode.Scalar]

    /// Content -> id of every added token (transformers' `_added_tokens_encoder`; entries are never removed).
    private let addedIDs: [CodePoints: Int]
    /// The flags of the added token each id holds now (transformers' `_added_tokens_decoder`).
    private let flags: [Int: AddedTokenFlags]
    /// Vocabulary token -> id.
    private let vocabulary: [CodePoints: Int]
    private let specialTokens: Set<CodePoints>
    private let trie: AddedTokenTrie
    private let wordDelimiter: CodePoints?
    private let unkToken: String
    private let upperCases: Bool
    private let source: String

    /// Builds the added-token table in transformers' order: the config's `added_tokens_decoder`, then the special
    /// tokens not yet added (no stripping; a new id past the vocabulary when it has none), then every vocabulary
    /// token longer than one code point (lstrip and rstrip, overriding the flags at its id).
    init(vocabulary: [(token: String, id: Int)], configAdded: [AddedTokenEntry], specialTokens: [String],
         wordDelimiter: String?, unkToken: String, doLowerCase: Bool, source: String) {
        func points(_ text: String) -> CodePoints { Array(text.unicodeScalars) }
        var vocabularyIDs: [CodePoints: Int] = [:]
        for entry in vocabulary { vocabularyIDs[points(entry.token)] = entry.id }
        var addedIDs: [CodePoints: Int] = [:]
        var flags: [Int: AddedTokenFlags] = [:]
        for entry in configAdded {
            flags[entry.id] = entry.flags
            addedIDs[points(entry.content)] = entry.id
        }
        // transformers' get_vocab(): the vocabulary updated with the added tokens.
        var known = vocabularyIDs.merging(addedIDs) { $1 }
        var nextID = known.count
        for token in specialTokens.map(points) where !token.isEmpty && addedIDs[token] == nil {
            let id: Int
            if let existing = known[token] {
                id = existing
            } else {
                id = nextID
                nextID += 1
                known[token] = id
            }
            flags[id] = AddedTokenFlags()
            addedIDs[token] = id
        }
        for entry in vocabulary where entry.token.unicodeScalars.count > 1 {
            let token = points(entry.token)
            let id = addedIDs[token] ?? vocabularyIDs[token] ?? entry.id
            flags[id] = AddedTokenFlags(lstrip: true, rstrip: true)
            addedIDs[token] = id
        }
        self.addedIDs = addedIDs
        self.flags = flags
        self.vocabulary = vocabularyIDs
        self.specialTokens = Set(specialTokens.map(points))
        trie = AddedTokenTrie(addedIDs.keys)
        self.wordDelimiter = wordDelimiter.map(points)
        self.unkToken = unkToken
        upperCases = doLowerCase
        self.source = source
    }

    /// The label ids of `text`.
    public func encode(_ text: String) throws -> [Int] {
        try tokens(Array(text.unicodeScalars)).map(id)
    }

    /// transformers' `tokenize`: added tokens kept whole, the rest split into code points.
    func tokens(_ text: CodePoints) throws -> [CodePoints] {
        var pieces = trie.split(text)
        for index in pieces.indices {
            let piece = pieces[index]
            guard let id = addedIDs[piece], let flags = flags[id] else { continue }
            // The neighbours as they were before stripping (transformers tests those, and edits the stripped ones).
            let left = index > 0 ? pieces[index - 1] : []
            let right = index + 1 < pieces.count ? pieces[index + 1] : []
            if flags.rstrip && !right.isEmpty { pieces[index + 1] = PythonText.leftStripped(right) }
            if flags.lstrip && !left.isEmpty { pieces[index - 1] = PythonText.rightStripped(left) }
            if flags.singleWord {
                if !left.isEmpty && left.last != " " {
                    pieces[index - 1] += piece
                    pieces[index] = []
                } else if !right.isEmpty && right.first != " " {
                    pieces[index + 1] = piece + pieces[index + 1]
                    pieces[index] = []
                }
            }
        }
        var result: [CodePoints] = []
        for piece in pieces where !piece.isEmpty {
            if addedIDs[piece] != nil || specialTokens.contains(piece) {
                result.append(piece)
            } else {
                result += try characters(piece).map { [$0] }
            }
        }
        return result
    }

    /// Wav2Vec2CTCTokenizer's `_tokenize`: upper-cased when `do_lower_case`, each space replaced by the word
    /// delimiter, then every code point on its own (a delimiter of several code points is split up too).
    private func characters(_ piece: CodePoints) throws -> CodePoints {
        guard let wordDelimiter else { throw LabelEncodingError.noWordDelimiter(source: source) }
        let cased = upperCases ? Array(String(String.UnicodeScalarView(piece)).uppercased().unicodeScalars) : piece
        return cased.flatMap { $0 == " " ? wordDelimiter : [$0] }
    }

    /// The id of one token: added tokens first, then the vocabulary, then the unknown token's vocabulary id.
    private func id(_ token: CodePoints) throws -> Int {
        if let id = addedIDs[token] ?? vocabulary[token] ?? vocabulary[Array(unkToken.unicodeScalars)] { return id }
        throw LabelEncodingError.noUnknownToken(source: source, character: String(String.UnicodeScalarView(token)),
                                                unkToken: unkToken)
    }
}

/// transformers' `Trie.split` (tokenization_python.py), ported step by step: it cuts the text around added tokens,
/// preferring the match that starts first and, among those, the longest.
struct AddedTokenTrie: Sendable {
    /// Node 0 is the root; each node maps a code point to a child node.
    private var children: [[Unicode.Scalar: Int]] = [[:]]
    private var terminal: [Bool] = [false]

    init<Tokens: Sequence>(_ tokens: Tokens) where Tokens.Element == [Unicode.Scalar] {
        for token in tokens where !token.isEmpty { add(token) }
    }

    private mutating func add(_ token: [Unicode.Scalar]) {
        var node = 0
        for scalar in token {
            if let next = children[node][scalar] {
                node = next
            } else {
                children.append([:])
                terminal.append(false)
                children[node][scalar] = children.count - 1
                node = children.count - 1
            }
        }
        terminal[node] = true
    }

    /// The pieces of `text`: added tokens and the text between them, in order, none empty.
    func split(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        guard text.contains(where: { children[0][$0] != nil }) else { return text.isEmpty ? [] : [text] }
        // Partial matches by start index (ascending), each with its trie node.
        var states: [(start: Int, node: Int)] = []
        var offsets = [0]
        var skip = 0
        for (current, character) in text.enumerated() {
            if skip > 0 && current < skip { continue }
            var removed: Set<Int> = []
            var reset = false
            var index = 0
            while index < states.count {
                var start = states[index].start
                let node = states[index].node
                if terminal[node] {
                    var end = current
                    for look in states {
                        if look.start > start { break }
                        var lookahead = look.start < start ? current + 1 : current
                        end = lookahead
                        var lookNode = look.node
                        if terminal[lookNode] {
                            start = look.start
                            end = lookahead
                            skip = lookahead
                        }
                        var next: Unicode.Scalar? = lookahead < text.count ? text[lookahead] : nil
                        while let scalar = next, let child = children[lookNode][scalar] {
                            lookNode = child
                            lookahead += 1
                            if terminal[lookNode] {
                                start = look.start
                                end = lookahead
                                skip = lookahead
                            }
                            if lookahead == text.count { break }
                            next = text[lookahead]
                        }
                    }
                    offsets += [start, end]
                    reset = true
                    break
                } else if let child = children[node][character] {
                    states[index].node = child
                } else {
                    removed.insert(start)
                }
                index += 1
            }
            if reset {
                states = []
            } else {
                states.removeAll { removed.contains($0.start) }
            }
            if current >= skip, let node = children[0][character] { states.append((current, node)) }
        }
        if let final = states.first(where: { terminal[$0.node] }) { offsets += [final.start, text.count] }
        return Self.cut(text, at: offsets)
    }

    /// transformers' `cut_text`: the pieces between consecutive offsets, empty and backward cuts skipped.
    private static func cut(_ text: [Unicode.Scalar], at offsets: [Int]) -> [[Unicode.Scalar]] {
        var pieces: [[Unicode.Scalar]] = []
        var start = 0
        for end in offsets + [text.count] where start < end {
            pieces.append(Array(text[start..<end]))
            start = end
        }
        return pieces
    }
}

/// Python's notion of whitespace and the string operations built on it (`str.isspace`, `split`, `strip`).
public enum PythonText {
    /// `str.isspace()` for one code point: Unicode White_Space plus the separators U+001C...U+001F.
    public static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    /// `text.split()`: the runs of non-whitespace code points.
    public static func split(_ text: String) -> [String] {
        text.unicodeScalars.split(whereSeparator: isSpace).map { String(String.UnicodeScalarView($0)) }
    }

    static func leftStripped(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] { Array(text.drop(while: isSpace)) }

    static func rightStripped(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        Array(text.reversed().drop(while: isSpace).reversed())
    }
}

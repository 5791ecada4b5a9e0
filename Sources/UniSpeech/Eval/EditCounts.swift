import Foundation

/// Word and character edits of a hypothesis against its reference, compared as written: only whitespace is
/// normalised (words are Python's `text.split()`, characters the code points of the words joined by one space);
/// case, punctuation and every other character count. This is what jiwer and HF `evaluate` compute by default.
public struct EditCounts: Sendable, Equatable {
    /// Unit-cost Levenshtein distance between the word lists.
    public var wordErrors: Int
    /// Words of the reference.
    public var words: Int
    /// Unit-cost Levenshtein distance between the character lists.
    public var charErrors: Int
    /// Characters of the reference (the single spaces between its words included).
    public var chars: Int
    /// The word lists are equal.
    public var exact: Bool

    public init(wordErrors: Int, words: Int, charErrors: Int, chars: Int, exact: Bool) {
        self.wordErrors = wordErrors
        self.words = words
        self.charErrors = charErrors
        self.chars = chars
        self.exact = exact
    }

    /// Counts the edits from `reference` to `hypothesis`.
    public init(reference: String, hypothesis: String) {
        let referenceWords = Self.words(reference), hypothesisWords = Self.words(hypothesis)
        let referenceChars = Self.characters(referenceWords), hypothesisChars = Self.characters(hypothesisWords)
        self.init(wordErrors: Self.editDistance(referenceWords, hypothesisWords), words: referenceWords.count,
                  charErrors: Self.editDistance(referenceChars, hypothesisChars), chars: referenceChars.count,
                  exact: referenceWords == hypothesisWords)
    }

    /// Word error rate of this utterance; nil for an empty reference.
    public var wer: Double? { words == 0 ? nil : Double(wordErrors) / Double(words) }
    /// Character error rate of this utterance; nil for an empty reference.
    public var cer: Double? { chars == 0 ? nil : Double(charErrors) / Double(chars) }

    /// The words of a text as code points (compared code point by code point, as Python compares strings).
    static func words(_ text: String) -> [[Unicode.Scalar]] {
        text.unicodeScalars.split(whereSeparator: PythonText.isSpace).map(Array.init)
    }

    /// The code points of the words joined by single spaces.
    static func characters(_ words: [[Unicode.Scalar]]) -> [Unicode.Scalar] {
        Array(words.joined(separator: [" "]))
    }

    /// Substitutions + insertions + deletions turning `reference` into `hypothesis`, each costing 1.
    static func editDistance<Element: Equatable>(_ reference: [Element], _ hypothesis: [Element]) -> Int {
        var previous = Array(0...hypothesis.count)
        var current = previous
        for (i, r) in reference.enumerated() {
            current[0] = i + 1
            for (j, h) in hypothesis.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (r == h ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[hypothesis.count]
    }
}

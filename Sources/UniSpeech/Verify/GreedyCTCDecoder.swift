import Foundation

/// Greedy CTC decoding of frame argmaxes for comparing transcripts: repeats collapsed, the pad id dropped
/// as the blank, ids mapped through vocab.json when the model has one (the word delimiter "|" read as a
/// space), else the ids themselves joined by spaces.
struct GreedyCTCDecoder {
    /// The word delimiter of Wav2Vec2CTCTokenizer's default settings.
    static let wordDelimiter = "|"

    private let tokens: [Int: String]
    private let blankID: Int?

    init(bundle: ModelBundle) {
        var tokens: [Int: String] = [:]
        for (token, id) in bundle.vocabulary?.objectMembers ?? [] {
            if let id = id.intValue { tokens[id] = token }
        }
        self.tokens = tokens
        blankID = bundle.config.padTokenId
    }

    /// The text of one sequence of frame ids.
    func decode(_ ids: [Int]) -> String {
        var kept: [Int] = []
        for (index, id) in ids.enumerated() where (index == 0 || ids[index - 1] != id) && id != blankID { kept.append(id) }
        guard !tokens.isEmpty else { return kept.map(String.init).joined(separator: " ") }
        let text = kept.map { tokens[$0] ?? "" }.joined().replacingOccurrences(of: Self.wordDelimiter, with: " ")
        return text.split(separator: " ").joined(separator: " ")
    }
}

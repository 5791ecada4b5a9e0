import Foundation

/// Greedy CTC decoding of frame argmaxes for comparing transcripts: the model's tokenizer (`CTCTokenizer`)
/// when it has a vocabulary, else the ids themselves (repeats collapsed, the pad id dropped as the blank)
/// joined by spaces.
struct GreedyCTCDecoder {
    private let tokenizer: CTCTokenizer?
    private let blankID: Int?

    init(bundle: ModelBundle) throws {
        tokenizer = bundle.vocabulary == nil ? nil
            : try CTCTokenizer(vocabulary: bundle.vocabulary, tokenizerConfig: bundle.tokenizerConfig,
                               specialTokensMap: bundle.specialTokens, source: bundle.description)
        blankID = bundle.config.padTokenId
    }

    /// The text of one sequence of frame ids.
    func decode(_ ids: [Int]) -> String {
        if let tokenizer { return tokenizer.decode(ids).text }
        var kept: [Int] = []
        for (index, id) in ids.enumerated() where (index == 0 || ids[index - 1] != id) && id != blankID { kept.append(id) }
        return kept.map(String.init).joined(separator: " ")
    }
}

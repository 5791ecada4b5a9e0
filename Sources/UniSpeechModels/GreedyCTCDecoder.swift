import Foundation
import UniSpeechCore

/// Greedy CTC text of frame argmaxes: the model's tokenizer (`CTCTokenizer`) when it has a vocabulary, else the
/// ids themselves (repeats collapsed, the pad id dropped as the blank) joined by spaces.
public struct GreedyCTCDecoder: Sendable {
    private let tokenizer: CTCTokenizer?
    private let blankID: Int?

    public init(bundle: ModelBundle) throws {
        tokenizer = try bundle.tokenizer()
        blankID = bundle.config.padTokenId
    }

    /// The text of one sequence of frame ids.
    public func decode(_ ids: [Int]) -> String {
        if let tokenizer { return tokenizer.decode(ids).text }
        return ctcRuns(ids, blank: blankID).map { String($0.item) }.joined(separator: " ")
    }
}

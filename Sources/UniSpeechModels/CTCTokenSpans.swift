import Foundation

/// One token greedy CTC decoding emits, with the logit frames it spans (end exclusive).
public struct CTCTokenSpan: Sendable, Equatable {
    /// The vocabulary token, as the tokenizer names it (the word delimiter too).
    public var token: String
    public var startFrame: Int
    public var endFrame: Int

    public init(token: String, startFrame: Int, endFrame: Int) {
        self.token = token
        self.startFrame = startFrame
        self.endFrame = endFrame
    }
}

extension CTCTokenizer {
    /// The label ids of a reference text, as transformers' `tokenizer(text).input_ids` gives them.
    public func labels(for text: String) throws -> [Int] { try labelEncoder.encode(text) }

    /// The tokens of frame ids (argmax per frame) with their frame spans: repeats grouped, blanks dropped, as `decode`.
    public func tokenSpans(_ ids: [Int]) -> [CTCTokenSpan] {
        ctcRuns(ids.map(token), blank: padToken).map {
            CTCTokenSpan(token: $0.item, startFrame: $0.range.lowerBound, endFrame: $0.range.upperBound)
        }
    }
}

import Foundation
import UniSpeechCore

/// One class of a classification head with its softmax probability.
public struct ClassScore: Sendable, Equatable {
    public var id: Int
    public var label: String
    public var score: Double

    public init(id: Int, label: String, score: Double) {
        self.id = id
        self.label = label
        self.score = score
    }
}

/// Turns head logits into answers: greedy CTC ids, class probabilities.
public enum HeadDecoding {
    /// Classes listed for each input unless asked otherwise.
    public static let defaultTopK = 5

    /// The first index of the largest value in values[range], relative to the range (torch.argmax's choice on ties).
    public static func argmax(_ values: [Float], in range: Range<Int>) -> Int {
        var best = range.lowerBound
        for index in range where values[index] > values[best] { best = index }
        return best - range.lowerBound
    }

    /// softmax(values), computed in double after subtracting the maximum.
    public static func softmax<Values: Collection>(_ values: Values) -> [Double] where Values.Element == Float {
        let largest = Double(values.max() ?? 0)
        let exponentials = values.map { Foundation.exp(Double($0) - largest) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }

    /// The label transformers gives class `id` when config.json has no id2label entry for it.
    public static func defaultLabel(_ id: Int) -> String { "LABEL_\(id)" }

    /// Greedy CTC ids of batch item `item`: per frame, the first index of the maximum logit
    /// (torch.argmax's choice on ties), over the item's `frames` real frames only.
    /// `logits` is [B, T, V] row-major with T = `paddedFrames`.
    public static func greedyIDs(logits: [Float], item: Int, frames: Int, paddedFrames: Int, vocabularySize: Int) -> [Int] {
        (0..<frames).map { frame in
            let start = (item * paddedFrames + frame) * vocabularySize  // [b, t, :]
            return argmax(logits, in: start..<(start + vocabularySize))
        }
    }

    /// Softmax over one item's class logits, the `k` most probable first (ties: lower id first).
    public static func topClasses(logits: ArraySlice<Float>, labels: [Int: String], k: Int) -> [ClassScore] {
        let scores = softmax(logits).enumerated().map { id, probability in  // [L]
            ClassScore(id: id, label: labels[id] ?? defaultLabel(id), score: probability)
        }
        return Array(scores.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }.prefix(k))
    }
}

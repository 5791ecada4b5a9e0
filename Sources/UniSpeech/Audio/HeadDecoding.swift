import Foundation

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

    /// The label transformers gives class `id` when config.json has no id2label entry for it.
    public static func defaultLabel(_ id: Int) -> String { "LABEL_\(id)" }

    /// Greedy CTC ids of batch item `item`: per frame, the first index of the maximum logit
    /// (torch.argmax's choice on ties), over the item's `frames` real frames only.
    /// `logits` is [B, T, V] row-major with T = `paddedFrames`.
    public static func greedyIDs(logits: [Float], item: Int, frames: Int, paddedFrames: Int, vocabularySize: Int) -> [Int] {
        (0..<frames).map { frame in
            let start = (item * paddedFrames + frame) * vocabularySize  // [b, t, :]
            var best = 0
            var bestValue = logits[start]
            for index in 1..<vocabularySize where logits[start + index] > bestValue {
                best = index
                bestValue = logits[start + index]
            }
            return best
        }
    }

    /// Softmax over one item's class logits, the `k` most probable first (ties: lower id first).
    public static func topClasses(logits: ArraySlice<Float>, labels: [Int: String], k: Int) -> [ClassScore] {
        let largest = Double(logits.max() ?? 0)
        let exponentials = logits.map { exp(Double($0) - largest) }  // [L]
        let total = exponentials.reduce(0, +)
        let scores = exponentials.enumerated().map { id, value in
            ClassScore(id: id, label: labels[id] ?? defaultLabel(id), score: value / total)
        }
        return Array(scores.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }.prefix(k))
    }
}

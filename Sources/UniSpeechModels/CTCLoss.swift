import Foundation
import UniSpeechCore

/// Why a model's config does not say how to compute its CTC loss.
public enum CTCLossError: LocalizedError, Equatable {
    case unknownReduction(source: String, value: String)
    case noBlank(source: String)

    public var errorDescription: String? {
        switch self {
        case let .unknownReduction(source, value):
            return "\(source): field '\(UniSpeechConfig.Key.ctcLossReduction)' is '\(value)'; expected one of "
                + CTCLoss.Reduction.allCases.map(\.rawValue).joined(separator: ", ")
        case let .noBlank(source):
            return "\(source): field '\(UniSpeechConfig.Key.padTokenId)' is null, so the CTC loss has no blank"
        }
    }
}

/// The CTC loss of one utterance exactly as transformers' `ForCTC(labels=...)` computes it (loss/loss_ctc.py):
/// labels equal to -100 or to the blank (`pad_token_id`) are dropped, the logits go through log-softmax, the
/// negative log-likelihood of the target comes from the forward algorithm (here in log space, in double),
/// an infinite loss becomes 0 with `ctc_zero_infinity`, and `ctc_loss_reduction` "mean" divides by the target
/// length (at least 1), "sum" and "none" keep it (for one utterance they agree).
public struct CTCLoss: Sendable, Equatable {
    /// `ctc_loss_reduction`.
    public enum Reduction: String, CaseIterable, Sendable {
        case mean, sum, none
    }

    /// Labels with this value are padding (transformers' `ignore_index`).
    public static let ignoredLabel = -100

    public var blank: Int
    public var reduction: Reduction
    public var zeroInfinity: Bool

    public init(blank: Int, reduction: Reduction, zeroInfinity: Bool) {
        self.blank = blank
        self.reduction = reduction
        self.zeroInfinity = zeroInfinity
    }

    /// The loss a model with this config computes; `source` names the config in errors.
    public init(config: UniSpeechConfig, source: String) throws {
        guard let reduction = Reduction(rawValue: config.ctcLossReduction) else {
            throw CTCLossError.unknownReduction(source: source, value: config.ctcLossReduction)
        }
        guard let blank = config.padTokenId else { throw CTCLossError.noBlank(source: source) }
        self.init(blank: blank, reduction: reduction, zeroInfinity: config.ctcZeroInfinity)
    }

    /// The loss of one utterance: `logits` is [T, V] row-major (`frames` x `classes`), `labels` its label ids.
    public func loss(logits: ArraySlice<Float>, frames: Int, classes: Int, labels: [Int]) -> Double {
        let targets = labels.filter { $0 != Self.ignoredLabel && $0 != blank }
        var nll = Self.negativeLogLikelihood(logProbabilities: Self.logSoftmax(logits, frames: frames, classes: classes),
                                             frames: frames, classes: classes, targets: targets, blank: blank)
        if zeroInfinity && nll == .infinity { nll = 0 }
        switch reduction {
        case .mean: return nll / Double(max(targets.count, 1))
        case .sum, .none: return nll
        }
    }

    /// log_softmax over the classes of every frame, in double: [T, V] -> [T, V].
    public static func logSoftmax(_ logits: ArraySlice<Float>, frames: Int, classes: Int) -> [Double] {
        var result = [Double](repeating: 0, count: frames * classes)
        let base = logits.startIndex
        for frame in 0..<frames {
            let row = base + frame * classes  // logits[t, :]
            var largest = -Double.infinity
            for index in row..<(row + classes) { largest = max(largest, Double(logits[index])) }
            var total = 0.0
            for index in row..<(row + classes) { total += exp(Double(logits[index]) - largest) }
            let normaliser = largest + log(total)
            for index in 0..<classes { result[frame * classes + index] = Double(logits[row + index]) - normaliser }
        }
        return result
    }

    /// -log p(targets | log-probabilities) summed over every CTC alignment: the forward algorithm over the
    /// target with blanks around and between its labels (length 2L + 1), in log space. +inf when no alignment
    /// fits the frames (a target longer than the frames, or repeats without room for a blank between them).
    public static func negativeLogLikelihood(logProbabilities: [Double], frames: Int, classes: Int, targets: [Int],
                                             blank: Int) -> Double {
        guard frames > 0 else { return targets.isEmpty ? 0 : .infinity }
        let extended = [blank] + targets.flatMap { [$0, blank] }  // [S], S = 2L + 1
        func logProbability(_ frame: Int, _ state: Int) -> Double { logProbabilities[frame * classes + extended[state]] }
        var alpha = [Double](repeating: -.infinity, count: extended.count)  // [S]
        alpha[0] = logProbability(0, 0)
        if extended.count > 1 { alpha[1] = logProbability(0, 1) }
        var next = alpha
        for frame in 1..<frames {
            for state in extended.indices {
                let skips = state >= 2 && extended[state] != blank && extended[state] != extended[state - 2]
                let reach = logSumExp(alpha[state], state >= 1 ? alpha[state - 1] : -.infinity,
                                      skips ? alpha[state - 2] : -.infinity)
                next[state] = reach == -.infinity ? -.infinity : reach + logProbability(frame, state)
            }
            swap(&alpha, &next)
        }
        let last = extended.count - 1
        let total = logSumExp(alpha[last], last >= 1 ? alpha[last - 1] : -.infinity, -.infinity)
        return -total
    }

    /// log(exp(a) + exp(b) + exp(c)), -inf when all three are -inf.
    private static func logSumExp(_ a: Double, _ b: Double, _ c: Double) -> Double {
        let largest = max(a, b, c)
        guard largest > -.infinity else { return -.infinity }
        return largest + log(exp(a - largest) + exp(b - largest) + exp(c - largest))
    }
}

import Foundation

/// What a candidate must reach against its reference for verify to pass.
public struct VerifyThresholds: Sendable, Equatable {
    /// Minimum cosine similarity of every output tensor with more than one element (over the real frames).
    public var minCosine: Double
    /// Minimum share of equal argmaxes: CTC frames, codevector indices per group, class labels.
    public var minArgmaxAgreement: Double
    /// Whether the CTC transcripts must be identical (off by default: a near tie may flip one frame).
    public var requireSameTranscripts = false
    /// `--per-layer`: minimum isolated cosine similarity of every stage (its output fed the reference's input).
    public var minStageCosine: Double
    /// `--per-layer`: minimum isolated SQNR of every stage, in dB.
    public var minStageSQNR: Double

    /// Defaults by the candidate's weight format: the one table.
    public static func defaults(for format: WeightFormat) -> VerifyThresholds {
        switch format {
        case .f32: return VerifyThresholds(minCosine: 0.99999, minArgmaxAgreement: 0.999, minStageCosine: 0.9999999, minStageSQNR: 80)
        case .f16: return VerifyThresholds(minCosine: 0.9999, minArgmaxAgreement: 0.99, minStageCosine: 0.99998, minStageSQNR: 45)
        case .int8: return VerifyThresholds(minCosine: 0.99, minArgmaxAgreement: 0.95, minStageCosine: 0.998, minStageSQNR: 25)
        }
    }
}

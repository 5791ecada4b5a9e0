import Foundation
import UniSpeechCore
import UniSpeechKernels

/// How the weights of a native file are stored: every float in f32, selected weights in f16,
/// or the matrix products (linear layers, multi-channel convs) in int8 (see `QuantizationRule.table`).
public enum WeightFormat: String, Sendable, CaseIterable {
    case f32, f16, int8
}

/// The stored form of one tensor.
public enum TensorStorage: String, Sendable, Equatable {
    case f32
    case f16
    /// Symmetric int8 with one f32 scale per output channel (index of the first dim: a row of an [out, in]
    /// weight, all in x kernel values of an [out, in, kernel] conv weight).
    case int8PerOutputChannel = "int8"

    /// The dtype the tensor itself is stored with.
    public var dtype: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .int8PerOutputChannel: return .i8
        }
    }
}

/// Which tensors get quantised, and how, for each weight format: the one table.
public enum QuantizationRule {
    /// One row: canonical-name patterns (fnmatch syntax), what they are, and their storage per format.
    public struct Row: Sendable {
        public let patterns: [String]
        public let role: String
        public let f16: TensorStorage
        public let int8: TensorStorage
    }

    /// First matching row wins; a tensor matching no row stays f32 (norms, biases, weight_g, small heads such as
    /// lm_head / classifier / ctc_proj / the quantizer, codevectors, masked_spec_embed, WavLM's relative position
    /// table and gates, batch-norm statistics).
    /// int8 covers every matrix product of real size: the linear layers, the feature encoder's convs after the first
    /// (512 -> 512, a third of a base model's FLOPs), and the convs that run as windows times a weight matrix (the
    /// conv adapter, the x-vector TDNN). The first conv (one input channel, 5K weights, a direct f32 kernel) and the
    /// positional convs (grouped) go to f16, keeping the file under 30% of f32 (docs/FORMAT.md); so do the MMS
    /// attention adapters (small, swapped per language, and linear_2's rows hold only adapter_attn_dim values each,
    /// too few for a good per-row scale).
    public static let table: [Row] = [
        Row(patterns: ["encoder.layers.*.attention.[qkv]_proj.weight", "encoder.layers.*.attention.out_proj.weight"],
            role: "attention projections", f16: .f16, int8: .int8PerOutputChannel),
        Row(patterns: ["encoder.layers.*.feed_forward.intermediate_dense.weight", "encoder.layers.*.feed_forward.output_dense.weight"],
            role: "feed-forward", f16: .f16, int8: .int8PerOutputChannel),
        Row(patterns: ["feature_projection.projection.weight"],
            role: "feature projection", f16: .f16, int8: .int8PerOutputChannel),
        Row(patterns: ["project_hid.weight", "project_q.weight", "projector.weight", "feature_extractor.weight"],
            role: "large head projections (feature_extractor.weight: the x-vector embedding)", f16: .f16, int8: .int8PerOutputChannel),
        Row(patterns: ["adapter.proj.weight", "adapter.layers.*.conv.weight"],
            role: "conv adapter (its convs run as windows x weight)", f16: .f16, int8: .int8PerOutputChannel),
        Row(patterns: ["tdnn.*.kernel.weight"],
            role: "x-vector TDNN layers (run as windows x weight)", f16: .f16, int8: .int8PerOutputChannel),
        Row(patterns: ["encoder.layers.*.adapter_layer.linear_[12].weight"],
            role: "MMS attention adapters", f16: .f16, int8: .f16),
        Row(patterns: ["feature_extractor.conv_layers.0.conv.weight"],
            role: "first conv on raw audio", f16: .f16, int8: .f16),
        Row(patterns: ["feature_extractor.conv_layers.*.conv.weight"],
            role: "conv feature encoder", f16: .f16, int8: .int8PerOutputChannel),
        Row(patterns: ["encoder.pos_conv_embed.conv.weight_v", "encoder.pos_conv_embed.conv.weight",
                       "encoder.pos_conv_embed.layers.*.conv.weight"],
            role: "positional convs (grouped: weight norm's direction, HuBERT's batch-norm form, Data2VecAudio's stack)",
            f16: .f16, int8: .f16),
    ]

    /// The storage `name` gets in `format`.
    public static func storage(for name: String, format: WeightFormat) -> TensorStorage {
        guard format != .f32, let row = table.first(where: { $0.patterns.contains { fnmatch($0, name, 0) == 0 } }) else {
            return .f32
        }
        return format == .f16 ? row.f16 : row.int8
    }
}

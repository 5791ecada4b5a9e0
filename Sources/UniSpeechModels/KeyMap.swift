import Foundation
import UniSpeechCore

/// Why checkpoint keys could not be mapped onto canonical names.
public enum KeyMapError: LocalizedError, Equatable {
    case collision(source: String, canonical: String, first: String, second: String)

    public var errorDescription: String? {
        switch self {
        case let .collision(source, canonical, first, second):
            return "\(source): tensors '\(first)' and '\(second)' both map to '\(canonical)'"
        }
    }
}

/// HF checkpoint names onto canonical names, by rule. Canonical names are the HF names of the family's
/// `<Prefix>For*` classes without the base-model prefix (`unispeech.`, `wav2vec2.`, ... `ModelFamily.baseModelPrefix`),
/// with weight norm in the legacy `weight_g` / `weight_v` spelling.
public enum KeyMap {
    /// Renames applied in order: (HF spelling, canonical spelling).
    static let renames: [(from: String, to: String)] = [
        ("parametrizations.weight.original0", "weight_g"),
        ("parametrizations.weight.original1", "weight_v"),
    ]

    /// Tensors that eval never reads, by canonical-name pattern (fnmatch) and the families whose checkpoints carry
    /// them; a checkpoint may hold them and the loader skips them. The one list.
    public static let ignorableInEval: [(patterns: [String], families: Set<ModelFamily>, reason: String)] = [
        (["masked_spec_embed"], Set(ModelFamily.allCases), "SpecAugment's mask embedding, used only in training"),
        (["objective.weight"], [.wav2vec2, .unispeechSat, .wavlm, .data2vecAudio],
         "the x-vector head's AMSoftmax loss weight, used only with labels"),
        (["encoder.pos_conv_embed.batch_norm.num_batches_tracked"], [.hubert],
         "BatchNorm bookkeeping (an i64 scalar); eval uses the running statistics"),
        (["ctc_proj.*"], [.unispeech], "UniSpeechForPreTraining's CTC projection feeds only logits it does not return"),
        (["quantizer.*", "project_q.*", "project_hid.*", "speaker_proj.*", "label_embeddings_concat", "layer_norm_for_extract.*"],
         [.unispeechSat], "UniSpeechSatForPreTraining loads them but its forward computes none of them"),
    ]

    /// Whether `family`'s eval never reads the tensor with canonical name `name`.
    public static func isIgnorableInEval(_ name: String, family: ModelFamily) -> Bool {
        ignorableInEval.contains { entry in
            entry.families.contains(family) && entry.patterns.contains { fnmatch($0, name, 0) == 0 }
        }
    }

    /// The canonical name of one HF key of a `family` checkpoint.
    public static func canonicalName(_ hfName: String, family: ModelFamily) -> String {
        let prefix = family.baseModelPrefix + "."
        var name = hfName.hasPrefix(prefix) ? String(hfName.dropFirst(prefix.count)) : hfName
        for rename in renames where name.hasSuffix(rename.from) {
            name = String(name.dropLast(rename.from.count)) + rename.to
        }
        return name
    }
}

/// Which heads a checkpoint holds, told apart by canonical tensor names.
extension ModelHead {
    /// Canonical-name prefixes of the base model.
    static let baseNamePrefixes = ["feature_extractor.conv_layers.", "feature_projection.", "encoder."]
    /// Canonical-name prefixes that only a pretraining head's tensors have (any family).
    static let pretrainingNamePrefixes = ["quantizer.", "project_hid.", "project_q.", "ctc_proj.", "speaker_proj.",
                                          "label_embeddings_concat", "layer_norm_for_extract."]

    /// The heads present among `canonicalNames`, in `allCases` order. The classifier heads share names: TDNN layers
    /// mark an x-vector head, else a projector a sequence classifier, else a lone classifier a frame classifier.
    public static func present(in canonicalNames: [String]) -> [ModelHead] {
        func has(_ prefixes: [String]) -> Bool { canonicalNames.contains { name in prefixes.contains { name.hasPrefix($0) } } }
        var heads: Set<ModelHead> = []
        if has(baseNamePrefixes) { heads.insert(.base) }
        if has(["lm_head."]) { heads.insert(.ctc) }
        if has(["tdnn.", "objective."]) {
            heads.insert(.xvector)
        } else if has(["projector."]) {
            heads.insert(.classification)
        } else if has(["classifier."]) {
            heads.insert(.frameClassification)
        }
        if has(pretrainingNamePrefixes) { heads.insert(.pretraining) }
        return allCases.filter(heads.contains)
    }
}

/// A source whose tensors carry canonical names.
public struct CanonicalTensorSource: TensorSource {
    public let base: any TensorSource
    public let tensors: [TensorInfo]
    /// Canonical name -> name in the underlying source.
    public let originalNames: [String: String]

    public var sourceDescription: String { base.sourceDescription }

    /// The tensors of a `family` checkpoint under canonical names.
    public init(_ base: any TensorSource, family: ModelFamily) throws {
        self.base = base
        var originals: [String: String] = [:]
        var infos: [TensorInfo] = []
        for info in base.tensors {
            let canonical = KeyMap.canonicalName(info.name, family: family)
            if let first = originals[canonical] {
                throw KeyMapError.collision(source: base.sourceDescription, canonical: canonical, first: first, second: info.name)
            }
            originals[canonical] = info.name
            infos.append(TensorInfo(name: canonical, dtype: info.dtype, shape: info.shape))
        }
        tensors = infos
        originalNames = originals
    }

    public func bytes(of name: String) throws -> TensorBytes {
        guard let original = originalNames[name] else {
            throw TensorSourceError.missingTensor(source: sourceDescription, name: name)
        }
        return try base.bytes(of: original)
    }
}

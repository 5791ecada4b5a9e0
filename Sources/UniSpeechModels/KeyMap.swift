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

/// HF checkpoint names onto canonical names, by rule. Canonical names are the HF names of the
/// UniSpeechFor* classes without the `unispeech.` prefix, with weight norm in the legacy
/// `weight_g` / `weight_v` spelling.
public enum KeyMap {
    /// Renames applied in order: (HF spelling, canonical spelling).
    static let renames: [(from: String, to: String)] = [
        ("parametrizations.weight.original0", "weight_g"),
        ("parametrizations.weight.original1", "weight_v"),
    ]

    /// The prefix transformers puts before base-model tensors inside a head model.
    static let basePrefix = "unispeech."

    /// Tensors that eval never reads; a checkpoint may carry them and the loader skips them.
    public static let ignorableInEval: Set<String> = [
        "masked_spec_embed",  // SpecAugment's mask embedding, used only in training
        "ctc_proj.weight", "ctc_proj.bias",  // UniSpeechForPreTraining's CTC projection: no eval output reads it
    ]

    /// The canonical name of one HF key.
    public static func canonicalName(_ hfName: String) -> String {
        var name = hfName.hasPrefix(basePrefix) ? String(hfName.dropFirst(basePrefix.count)) : hfName
        for rename in renames where name.hasSuffix(rename.from) {
            name = String(name.dropLast(rename.from.count)) + rename.to
        }
        return name
    }
}

/// Which heads a checkpoint holds, told apart by canonical tensor names.
extension ModelHead {
    /// Canonical-name prefixes whose presence marks the part.
    public var namePrefixes: [String] {
        switch self {
        case .base: return ["feature_extractor.", "feature_projection.", "encoder."]
        case .ctc: return ["lm_head."]
        case .classification: return ["classifier.", "projector.", "layer_weights"]
        case .pretraining: return ["quantizer.", "project_hid.", "project_q.", "ctc_proj."]
        }
    }

    /// The parts present among `canonicalNames`, in `allCases` order.
    public static func present(in canonicalNames: [String]) -> [ModelHead] {
        allCases.filter { head in canonicalNames.contains { name in head.namePrefixes.contains { name.hasPrefix($0) } } }
    }
}

/// A source whose tensors carry canonical names.
public struct CanonicalTensorSource: TensorSource {
    public let base: any TensorSource
    public let tensors: [TensorInfo]
    /// Canonical name -> name in the underlying source.
    public let originalNames: [String: String]

    public var sourceDescription: String { base.sourceDescription }

    public init(_ base: any TensorSource) throws {
        self.base = base
        var originals: [String: String] = [:]
        var infos: [TensorInfo] = []
        for info in base.tensors {
            let canonical = KeyMap.canonicalName(info.name)
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

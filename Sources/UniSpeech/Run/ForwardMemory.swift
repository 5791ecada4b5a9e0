import Foundation

/// Why an input was refused before its forward pass.
public enum ForwardMemoryError: LocalizedError, Equatable {
    case tooLong(path: String, seconds: Double, batch: Int, neededBytes: Double, limitBytes: Int, maximumSeconds: Double)

    public var errorDescription: String? {
        switch self {
        case let .tooLong(path, seconds, batch, needed, limit, maximum):
            let what = batch == 1 ? "one forward pass" : "a forward pass of \(batch) inputs padded to it"
            let chunk = max(1, min(30, Int(maximum.rounded(.down))))
            return "\(path): \(ForwardMemory.seconds(seconds)) of audio would need about \(ForwardMemory.gigabytes(needed)) for \(what) "
                + "(attention memory grows with the square of the length), more than the memory limit of "
                + "\(ForwardMemory.gigabytes(Double(limit))) (inputs up to about \(ForwardMemory.seconds(maximum)) fit); "
                + "run it in overlapping chunks with --chunk-length \(chunk)"
        }
    }
}

/// An estimate of the memory a forward pass takes, to refuse an input that would exhaust it before reading it.
///
/// It counts the mapped weights, the input copies, the feature encoder's two largest conv outputs, the encoder's
/// per-frame buffers (hidden states, q/k/v, context, feed-forward), the head's outputs, and the attention scores:
/// one [T, T] f32 matrix at a time beyond a 64 MiB block of heads (transformers holds heads x T x T at once), the
/// term that grows with the square of the length. Checked against peak RSS in benchmarks/RESULTS.md.
public struct ForwardMemory: Sendable {
    /// The model's shapes: conv stack, hidden and intermediate sizes, heads, vocabulary.
    public let config: UniSpeechConfig
    /// Bytes of the weights as loaded.
    public let weightBytes: Int

    /// Bytes besides the forward pass: the runtime, libraries and allocator slack.
    static let processBytes = 64.0 * 1024 * 1024
    /// Floats of the attention score block that holds several heads at once.
    static let scoreBlockFloats = Double(1 << 24)

    public init(config: UniSpeechConfig, weightBytes: Int) {
        self.config = config
        self.weightBytes = weightBytes
    }

    /// The estimate for `model`'s bundle.
    public init(model: SpeechModel) {
        self.init(config: model.bundle.config, weightBytes: model.bundle.weights.tensors.reduce(0) { $0 + $1.byteCount })
    }

    /// Estimated peak bytes of running `head` on `batch` inputs padded to `samples` samples.
    public func bytes(samples: Int, batch: Int = 1, head: ModelHead) -> Double {
        let b = Double(batch), length = Double(samples)
        var convFloats = 0.0, convLength = samples
        for (geometry, channels) in zip(config.convGeometry, config.convDim) {  // per item, reused: two largest [L_i, C_i]
            convLength = geometry.outputLength(convLength)
            convFloats = max(convFloats, Double(convLength) * Double(channels))
        }
        let frames = Double(config.outputLength(forSamples: samples)), rows = b * frames
        let hidden = Double(config.hiddenSize), channels = Double(config.convDim.last ?? 0)
        let recorded = head == .classification && config.useWeightedLayerSum ? Double(config.numHiddenLayers + 1) : 0
        var floats = 3 * b * length  // [B, L]: the waveforms, the normalised batch and the workspace copy
        floats += 2 * convFloats
        floats += 3 * rows * channels  // features, normed features and their copy: [B * T, C]
        floats += (9 + recorded) * rows * hidden + rows * Double(config.intermediateSize)  // [B * T, H], [B * T, I]
        floats += 2 * rows * Double(max(config.vocabSize, config.numLabels))  // logits and their copy
        floats += frames * frames + Self.scoreBlockFloats  // [T, T] scores
        return Self.processBytes + Double(weightBytes) + 4 * floats
    }

    /// The longest input, in samples, whose estimate for `batch` inputs stays within `limitBytes`.
    public func maximumSamples(limitBytes: Int, batch: Int = 1, head: ModelHead) -> Int {
        var (low, high) = (0, 1)
        while bytes(samples: high, batch: batch, head: head) <= Double(limitBytes) && high < Int(1) << 40 { high *= 2 }
        while high - low > 1 {
            let middle = (low + high) / 2
            if bytes(samples: middle, batch: batch, head: head) <= Double(limitBytes) { low = middle } else { high = middle }
        }
        return low
    }

    /// Throws when `batch` inputs padded to `samples` samples (the longest being `path`) would need more than
    /// `limitBytes`; nil means no limit.
    public func check(path: String, samples: Int, batch: Int = 1, head: ModelHead, samplingRate: Int, limitBytes: Int?) throws {
        guard let limitBytes else { return }
        let needed = bytes(samples: samples, batch: batch, head: head)
        guard needed > Double(limitBytes) else { return }
        throw ForwardMemoryError.tooLong(
            path: path, seconds: Double(samples) / Double(samplingRate), batch: batch, neededBytes: needed, limitBytes: limitBytes,
            maximumSeconds: Double(maximumSamples(limitBytes: limitBytes, batch: batch, head: head)) / Double(samplingRate))
    }

    /// "12.3 GB".
    static func gigabytes(_ bytes: Double) -> String { String(format: "%.1f GB", bytes / 1e9) }

    /// "3600.0 s".
    static func seconds(_ seconds: Double) -> String { String(format: "%.1f s", seconds) }
}

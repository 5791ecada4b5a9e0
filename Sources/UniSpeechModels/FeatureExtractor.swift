import Foundation
import UniSpeechCore

/// The fields of preprocessor_config.json (Wav2Vec2FeatureExtractor) that shape the model input.
public struct FeatureExtractorConfig: Sendable, Equatable {
    public var samplingRate = 16000
    public var doNormalize = true
    public var paddingValue: Float = 0.0
    public var returnAttentionMask = false
    public var featureSize = 1

    /// The HF field names, each written here once.
    public enum Key {
        public static let samplingRate = "sampling_rate"
        public static let doNormalize = "do_normalize"
        public static let paddingValue = "padding_value"
        public static let returnAttentionMask = "return_attention_mask"
        public static let featureSize = "feature_size"
        public static let paddingSide = "padding_side"
        public static let featureExtractorType = "feature_extractor_type"
    }

    /// The feature extractor this reproduces (`feature_extractor_type`).
    public static let extractorType = "Wav2Vec2FeatureExtractor"
    /// The only padding side it has (transformers' default; "left" would move every waveform).
    public static let paddingSide = "right"
    /// The highest `sampling_rate` accepted: above every audio rate in use (ultrasound recorders reach 500 kHz), and low
    /// enough that one second of samples (verify's test signals, eval's warm-up) stays a few MB.
    public static let largestSamplingRate = 1_000_000

    public init() {}

    /// Reads preprocessor_config.json's fields (no file: the defaults above) and checks each before anything is sized
    /// from it; `source` names the file in errors.
    public init(json: JSONValue?, source: String) throws {
        guard let json else { return }
        guard json.objectMembers != nil else {
            throw ConfigError.unreadable(path: source, reason: "the top level is not a JSON object")
        }
        func invalid(_ field: String, _ reason: String) -> ConfigError { .invalid(path: source, field: field, reason: reason) }
        let reader = FieldReader(json: json, source: source)
        try reader.int(Key.samplingRate, &samplingRate)
        try reader.bool(Key.doNormalize, &doNormalize)
        var padding = Double(paddingValue)
        try reader.double(Key.paddingValue, &padding)
        try reader.bool(Key.returnAttentionMask, &returnAttentionMask)
        try reader.int(Key.featureSize, &featureSize)
        var side = Self.paddingSide, type = Self.extractorType
        try reader.string(Key.paddingSide, &side)
        try reader.string(Key.featureExtractorType, &type)
        guard samplingRate > 0 && samplingRate <= Self.largestSamplingRate else {
            throw invalid(Key.samplingRate, "must be positive and at most \(Self.largestSamplingRate) Hz, found \(samplingRate)")
        }
        guard Float(padding).isFinite else { throw invalid(Key.paddingValue, "must be a finite 32-bit float, found \(padding)") }
        paddingValue = Float(padding)
        guard featureSize == 1 else {
            throw invalid(Key.featureSize, "must be 1 (the model reads raw waveforms, one value per sample), found \(featureSize)")
        }
        guard side == Self.paddingSide else { throw invalid(Key.paddingSide, "must be '\(Self.paddingSide)', found '\(side)'") }
        guard type == Self.extractorType else {
            throw invalid(Key.featureExtractorType, "names '\(type)'; only \(Self.extractorType) is reproduced")
        }
    }
}

/// Raw waveforms padded into one batch, as the model reads them.
public struct InputBatch: Sendable {
    /// [batchSize, paddedLength], row-major.
    public var values: [Float]
    public var batchSize: Int
    public var paddedLength: Int
    /// Unpadded sample count of each item.
    public var lengths: [Int]
    /// [batchSize, paddedLength], 1 on real samples and 0 on padding; present when the extractor returns it.
    public var attentionMask: [Int32]?

    public init(values: [Float], batchSize: Int, paddedLength: Int, lengths: [Int], attentionMask: [Int32]?) {
        self.values = values
        self.batchSize = batchSize
        self.paddedLength = paddedLength
        self.lengths = lengths
        self.attentionMask = attentionMask
    }
}

/// Wav2Vec2FeatureExtractor's padding and normalisation (called with padding=True).
public struct FeatureExtractor: Sendable {
    public let config: FeatureExtractorConfig

    /// The variance floor of the zero-mean unit-variance normalisation.
    static let varianceEpsilon = 1e-7

    public init(config: FeatureExtractorConfig) { self.config = config }

    /// Pads `waveforms` to the longest with the padding value and normalises each row. As in transformers, the
    /// statistics cover only the real samples (and padding is reset to the padding value) when the attention mask
    /// is returned; without it they cover the whole padded row.
    public func makeBatch(_ waveforms: [[Float]]) -> InputBatch {
        let lengths = waveforms.map(\.count)
        let padded = lengths.max() ?? 0
        var values = [Float](repeating: config.paddingValue, count: waveforms.count * padded)
        for (index, waveform) in waveforms.enumerated() {
            values.replaceSubrange(index * padded..<(index * padded + waveform.count), with: waveform)
        }
        var mask: [Int32]?
        if config.returnAttentionMask {
            var m = [Int32](repeating: 0, count: waveforms.count * padded)
            for (index, length) in lengths.enumerated() {
                for i in 0..<length { m[index * padded + i] = 1 }
            }
            mask = m
        }
        if config.doNormalize {
            for (index, length) in lengths.enumerated() {
                let row = index * padded
                let counted = config.returnAttentionMask ? length : padded
                guard counted > 0 else { continue }
                let slice = values[row..<(row + counted)]
                let mean = slice.reduce(0.0) { $0 + Double($1) } / Double(counted)
                let variance = slice.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(counted)
                let scale = 1 / (variance + Self.varianceEpsilon).squareRoot()
                for i in row..<(row + counted) { values[i] = Float((Double(values[i]) - mean) * scale) }
                if counted < padded {
                    for i in (row + counted)..<(row + padded) { values[i] = config.paddingValue }
                }
            }
        }
        return InputBatch(values: values, batchSize: waveforms.count, paddedLength: padded, lengths: lengths, attentionMask: mask)
    }
}

import Foundation
import UniSpeechCore

/// The fields of preprocessor_config.json (Wav2Vec2FeatureExtractor) that shape the model input.
public struct FeatureExtractorConfig: Sendable, Equatable {
    public var samplingRate = 16000
    public var doNormalize = true
    public var paddingValue: Float = 0.0
    public var returnAttentionMask = false
    public var featureSize = 1

    public init() {}

    /// Reads preprocessor_config.json's fields; absent fields (or no file) keep the defaults above.
    public init(json: JSONValue?) {
        guard let json else { return }
        if let value = json["sampling_rate"]?.intValue { samplingRate = value }
        if let value = json["do_normalize"]?.boolValue { doNormalize = value }
        if let value = json["padding_value"]?.doubleValue { paddingValue = Float(value) }
        if let value = json["return_attention_mask"]?.boolValue { returnAttentionMask = value }
        if let value = json["feature_size"]?.intValue { featureSize = value }
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

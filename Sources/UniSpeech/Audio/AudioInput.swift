import Foundation

/// One input waveform at the model's sampling rate, with where it came from.
public struct AudioInput: Sendable, Equatable {
    public var path: String
    /// Mono f32 samples at the model's sampling rate.
    public var samples: [Float]
    /// The file's own rate and channel count (nil for raw .npy samples, which are already at the model's rate).
    public var sourceSampleRate: Double?
    public var sourceChannels: Int?

    public init(path: String, samples: [Float], sourceSampleRate: Double? = nil, sourceChannels: Int? = nil) {
        self.path = path
        self.samples = samples
        self.sourceSampleRate = sourceSampleRate
        self.sourceChannels = sourceChannels
    }

    /// Reads an audio file libsndfile knows (WAV, FLAC, OGG ...), mixes it to mono and resamples it to `samplingRate`.
    public static func decode(path: String, samplingRate: Double) throws -> AudioInput {
        guard samplingRate.isFinite, samplingRate > 0 else { throw AudioError.badTargetRate(rate: samplingRate) }
        let audio = try AudioFile.read(path: path)
        let samples = try Resampler.resample(audio.samples, from: audio.sampleRate, to: samplingRate, path: path)
        return AudioInput(path: path, samples: samples, sourceSampleRate: audio.sampleRate, sourceChannels: audio.channels)
    }
}

import Foundation
import UniSpeechCore

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

    /// Where this input came from, without its samples.
    public var info: InputInfo {
        InputInfo(path: path, sampleCount: samples.count, sourceSampleRate: sourceSampleRate, sourceChannels: sourceChannels)
    }

    /// Raw samples extension: float32 1-D samples already at the model's rate.
    public static let rawSamplesExtension = "npy"

    /// Loads one input for a model running at `samplingRate`: .npy as it is, any other file as audio. Samples that
    /// are NaN or infinite are refused, naming the file.
    public static func load(path: String, samplingRate: Double) throws -> AudioInput {
        let input = URL(fileURLWithPath: path).pathExtension.lowercased() == rawSamplesExtension
            ? AudioInput(path: path, samples: try NpyReader.readFloat32Vector(path: path))
            : try decode(path: path, samplingRate: samplingRate)
        try FiniteCheck.requireFinite(input.samples, description: path)
        return input
    }

    /// Reads an audio file libsndfile knows (WAV, FLAC, OGG ...), mixes it to mono and resamples it to `samplingRate`.
    public static func decode(path: String, samplingRate: Double) throws -> AudioInput {
        guard samplingRate.isFinite, samplingRate > 0 else { throw AudioError.badTargetRate(rate: samplingRate) }
        let audio = try AudioFile.read(path: path)
        let samples = try Resampler.resample(audio.samples, from: audio.sampleRate, to: samplingRate, path: path)
        return AudioInput(path: path, samples: samples, sourceSampleRate: audio.sampleRate, sourceChannels: audio.channels)
    }
}

/// An input of a run without its samples: path, length at the model's rate, and the file's own format.
public struct InputInfo: Sendable, Equatable {
    public var path: String
    /// Samples at the model's rate.
    public var sampleCount: Int
    public var sourceSampleRate: Double?
    public var sourceChannels: Int?

    public init(path: String, sampleCount: Int, sourceSampleRate: Double?, sourceChannels: Int?) {
        self.path = path
        self.sampleCount = sampleCount
        self.sourceSampleRate = sourceSampleRate
        self.sourceChannels = sourceChannels
    }

    /// "44100 Hz, 2 channels -> 16000 Hz, 1.23 s" (or "16000 Hz samples, 1.23 s" for .npy).
    public func origin(samplingRate: Int) -> String {
        let duration = String(format: "%.2f s", Double(sampleCount) / Double(samplingRate))
        guard let rate = sourceSampleRate, let channels = sourceChannels else {
            return "\(samplingRate) Hz samples, \(duration)"
        }
        return "\(Int(rate)) Hz, \(channels) channel\(channels == 1 ? "" : "s") -> \(samplingRate) Hz, \(duration)"
    }
}

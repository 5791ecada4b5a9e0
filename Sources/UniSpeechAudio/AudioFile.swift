import CSndfile
import Foundation
import UniSpeechCore

/// Why an audio input could not be read or brought to the model's sampling rate.
public enum AudioError: LocalizedError, Equatable {
    case notFound(path: String)
    case unreadable(path: String, reason: String)
    case noChannels(path: String)
    case badSampleRate(path: String, rate: Double)
    case empty(path: String)
    case tooShort(path: String, samples: Int, rate: Double, targetRate: Double)
    case badTargetRate(rate: Double)
    case resampleFailed(path: String, reason: String)
    case nonFinite(path: String)

    public var errorDescription: String? {
        switch self {
        case let .notFound(path): return "\(path): no such file"
        case let .unreadable(path, reason): return "\(path): not a readable audio file (\(reason))"
        case let .noChannels(path): return "\(path): the audio has no channels"
        case let .badSampleRate(path, rate): return "\(path): invalid sampling rate \(rate) Hz in the file header"
        case let .empty(path): return "\(path): the audio holds no samples"
        case let .tooShort(path, samples, rate, targetRate):
            return "\(path): \(samples) samples at \(rate) Hz leave no sample at \(targetRate) Hz"
        case let .badTargetRate(rate): return "the model's sampling_rate \(rate) Hz is not a positive number"
        case let .resampleFailed(path, reason): return "\(path): resampling failed (\(reason))"
        case let .nonFinite(path): return "\(path): the audio contains NaN or infinite samples"
        }
    }
}

/// Audio decoded by libsndfile (WAV, FLAC, OGG/Vorbis, AIFF ...), mixed down to one channel.
public struct DecodedAudio: Sendable, Equatable {
    /// Mono samples as f32 (integer formats scaled to [-1, 1) as libsndfile does).
    public var samples: [Float]
    /// Sampling rate of the file, Hz.
    public var sampleRate: Double
    /// Channel count of the file before mixing.
    public var channels: Int
}

/// Reads audio files through libsndfile.
public enum AudioFile {
    /// Frames read per libsndfile call.
    private static let chunkFrames = 65_536

    /// Decodes `path` and mixes its channels to mono (the mean of the channels in each frame).
    public static func read(path: String) throws -> DecodedAudio {
        guard FileManager.default.fileExists(atPath: path) else { throw AudioError.notFound(path: path) }
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw AudioError.unreadable(path: path, reason: libraryMessage(sf_strerror(nil)))
        }
        defer { sf_close(file) }
        let channels = Int(info.channels)
        guard channels > 0 else { throw AudioError.noChannels(path: path) }
        guard info.samplerate > 0 else { throw AudioError.badSampleRate(path: path, rate: Double(info.samplerate)) }

        var mono: [Float] = []
        if info.frames > 0 && info.frames < Int64(Int32.max) { mono.reserveCapacity(Int(info.frames)) }
        var interleaved = [Float](repeating: 0, count: chunkFrames * channels)  // [frames, channels]
        while true {
            let read = Int(interleaved.withUnsafeMutableBufferPointer {
                sf_readf_float(file, $0.baseAddress, sf_count_t(chunkFrames))
            })
            if read <= 0 { break }
            if channels == 1 {
                mono.append(contentsOf: interleaved[0..<read])
            } else {
                let count = Float(channels)
                for frame in 0..<read {
                    var sum: Float = 0
                    for channel in 0..<channels { sum += interleaved[frame * channels + channel] }
                    mono.append(sum / count)  // [frames]
                }
            }
        }
        let status = sf_error(file)
        guard status == 0 else { throw AudioError.unreadable(path: path, reason: libraryMessage(sf_error_number(status))) }
        guard !mono.isEmpty else { throw AudioError.empty(path: path) }
        guard mono.allSatisfy(\.isFinite) else { throw AudioError.nonFinite(path: path) }
        return DecodedAudio(samples: mono, sampleRate: Double(info.samplerate), channels: channels)
    }

    /// libsndfile's message without its closing period ("Format not recognised.").
    static func libraryMessage(_ message: UnsafePointer<CChar>) -> String {
        let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.hasSuffix(".") ? String(text.dropLast()) : text
    }
}

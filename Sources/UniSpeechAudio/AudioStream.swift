import CSndfile
import CSoxr
import Foundation
import UniSpeechCore

/// One input's samples at a model's sampling rate, read block by block so that a long recording is never in memory
/// whole. Audio files go through libsndfile (mixed to mono as `AudioFile.read` mixes) and libsoxr's stream
/// resampler at SOXR_HQ, which gives the samples `Resampler.resample` gives for the whole file; .npy files (float32
/// samples already at the model's rate) are read in pieces. One reader serves one task.
public final class AudioStream {
    /// The input as named by the caller.
    public let path: String
    /// The file's own rate and channel count (nil for .npy samples, already at the model's rate).
    public let sourceSampleRate: Double?
    public let sourceChannels: Int?
    /// The samples at the model's rate the whole input gives, from its header: exact for .npy, and for audio files
    /// the frame count libsndfile reports, resampled as `Resampler.outputCount` sizes it.
    public let expectedSampleCount: Int
    /// Samples handed out so far.
    public private(set) var samplesRead = 0
    private var source: Source

    /// Source frames read per libsndfile call unless told otherwise.
    public static let defaultBlockFrames = 65_536

    private enum Source {
        case npy(FileHandle, remaining: Int)
        case sound(SoundSource)
    }

    /// Opens `path` for a model running at `samplingRate`: .npy as raw samples, any other file as audio, read
    /// `blockFrames` source frames at a time.
    public init(path: String, samplingRate: Double, blockFrames: Int = defaultBlockFrames) throws {
        precondition(blockFrames > 0, "blockFrames must be positive")
        guard samplingRate.isFinite, samplingRate > 0 else { throw AudioError.badTargetRate(rate: samplingRate) }
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw AudioError.notFound(path: path) }
        if URL(fileURLWithPath: path).pathExtension.lowercased() == AudioInput.rawSamplesExtension {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw NpyError.unreadable(path: path, reason: "cannot open the file")
            }
            let size: Int
            do { size = Int(try handle.seekToEnd()) } catch { throw NpyError.unreadable(path: path, reason: error.localizedDescription) }
            let layout = try NpyReader.layout(path: path, fileSize: size) { count in
                try handle.seek(toOffset: 0)
                return [UInt8](try handle.read(upToCount: count) ?? Data())
            }
            try handle.seek(toOffset: UInt64(layout.dataStart))
            source = .npy(handle, remaining: layout.count)
            sourceSampleRate = nil
            sourceChannels = nil
            expectedSampleCount = layout.count
        } else {
            let sound = try SoundSource(path: path, targetRate: samplingRate, blockFrames: blockFrames)
            source = .sound(sound)
            sourceSampleRate = sound.rate
            sourceChannels = sound.channels
            expectedSampleCount = sound.expectedOutputCount
        }
    }

    /// The next samples, at most `count` of them; fewer only at the end of the input, none once it is over.
    public func read(upTo count: Int) throws -> [Float] {
        precondition(count > 0, "read(upTo:) needs a positive count")
        let samples: [Float]
        switch source {
        case let .npy(handle, remaining):
            let wanted = min(count, remaining)
            guard wanted > 0 else { return [] }
            let data: Data
            do { data = try handle.read(upToCount: wanted * MemoryLayout<Float>.size) ?? Data() } catch {
                throw NpyError.unreadable(path: path, reason: error.localizedDescription)
            }
            guard data.count == wanted * MemoryLayout<Float>.size else {
                throw NpyError.notNpy(path: path, reason: "the file ended early")
            }
            var values = [Float](repeating: 0, count: wanted)  // little-endian f32, as the layout checked
            _ = values.withUnsafeMutableBytes { data.copyBytes(to: $0) }
            samples = values
            source = .npy(handle, remaining: remaining - wanted)
            if var bad = FiniteCheck.scan(samples, name: "samples") {
                bad.firstIndex += samplesRead
                throw FiniteCheckError.nonFiniteInput(path: path, count: bad)
            }
        case let .sound(sound):
            samples = try sound.read(upTo: count)
        }
        samplesRead += samples.count
        return samples
    }
}

/// A libsndfile reader mixing to mono, with a libsoxr stream resampler when the file's rate is not the target's.
private final class SoundSource {
    let path: String
    let rate: Double
    let channels: Int
    let targetRate: Double
    let blockFrames: Int
    /// round(source frames x targetRate / rate), the count the one-shot resampler is asked for.
    let expectedOutputCount: Int
    private let file: OpaquePointer
    private let resampler: soxr_t?
    /// Source frames read so far.
    private var framesRead = 0
    /// Output samples produced so far (before `pending` is handed out).
    private var produced = 0
    /// Samples ready to hand out, from `pendingStart` on.
    private var pending: [Float] = []
    private var pendingStart = 0
    private var inputEnded = false
    private var flushed = false

    init(path: String, targetRate: Double, blockFrames: Int) throws {
        self.path = path
        self.targetRate = targetRate
        self.blockFrames = blockFrames
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw AudioError.unreadable(path: path, reason: AudioFile.libraryMessage(sf_strerror(nil)))
        }
        channels = Int(info.channels)
        rate = Double(info.samplerate)
        guard channels > 0 else {
            sf_close(file)
            throw AudioError.noChannels(path: path)
        }
        guard info.samplerate > 0 else {
            sf_close(file)
            throw AudioError.badSampleRate(path: path, rate: rate)
        }
        self.file = file
        let frames = Int(max(info.frames, 0))
        expectedOutputCount = rate == targetRate ? frames : Resampler.outputCount(frames, from: rate, to: targetRate)
        if rate == targetRate {
            resampler = nil
        } else {
            var error: soxr_error_t?
            var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
            var qualitySpec = Resampler.qualitySpec
            let created = soxr_create(rate, targetRate, 1, &error, &ioSpec, &qualitySpec, nil)
            guard let created, error == nil else {
                if let created { soxr_delete(created) }
                sf_close(file)
                throw AudioError.resampleFailed(path: path, reason: error.map { String(cString: $0) } ?? "soxr_create failed")
            }
            resampler = created
        }
    }

    deinit {
        if let resampler { soxr_delete(resampler) }
        sf_close(file)
    }

    /// Up to `count` output samples; fewer only at the end.
    func read(upTo count: Int) throws -> [Float] {
        var out: [Float] = []
        while out.count < count {
            if pendingStart == pending.count {
                pending = try nextBlock()
                pendingStart = 0
                if pending.isEmpty { break }
            }
            let take = min(count - out.count, pending.count - pendingStart)
            out.append(contentsOf: pending[pendingStart..<(pendingStart + take)])
            pendingStart += take
        }
        return out
    }

    /// The next block of output samples; empty at the end.
    private func nextBlock() throws -> [Float] {
        while true {
            if flushed { return [] }
            let mono = inputEnded ? [] : try readMono()
            if mono.isEmpty && !inputEnded {
                inputEnded = true
                guard framesRead > 0 else { throw AudioError.empty(path: path) }
            }
            guard let resampler else {
                if inputEnded { flushed = true }
                return mono
            }
            let block = try resample(mono, with: resampler)
            if !block.isEmpty || flushed { return block }
        }
    }

    /// The next source frames mixed to mono (the mean of the channels in each frame); empty at the end.
    private func readMono() throws -> [Float] {
        var interleaved = [Float](repeating: 0, count: blockFrames * channels)  // [frames, channels]
        let read = Int(interleaved.withUnsafeMutableBufferPointer {
            sf_readf_float(file, $0.baseAddress, sf_count_t(blockFrames))
        })
        let status = sf_error(file)
        guard status == 0 else { throw AudioError.unreadable(path: path, reason: AudioFile.libraryMessage(sf_error_number(status))) }
        guard read > 0 else { return [] }
        framesRead += read
        var mono: [Float]
        if channels == 1 {
            mono = Array(interleaved[0..<read])
        } else {
            let divisor = Float(channels)
            mono = [Float](repeating: 0, count: read)
            for frame in 0..<read {
                var sum: Float = 0
                for channel in 0..<channels { sum += interleaved[frame * channels + channel] }
                mono[frame] = sum / divisor  // [frames]
            }
        }
        guard mono.allSatisfy(\.isFinite) else { throw AudioError.nonFinite(path: path) }
        return mono
    }

    /// Feeds `mono` to the resampler (flushing it once the input has ended) and returns what it gives, capped at
    /// the one-shot count round(frames x ratio) once the input's length is known.
    private func resample(_ mono: [Float], with resampler: soxr_t) throws -> [Float] {
        let ratio = targetRate / rate
        var output: [Float] = []
        var buffer = [Float](repeating: 0, count: Int(Double(max(mono.count, blockFrames)) * ratio) + 1024)
        var consumed = 0
        repeat {
            var used = 0, done = 0
            let failure: soxr_error_t? = buffer.withUnsafeMutableBufferPointer { out in
                if inputEnded {
                    return soxr_process(resampler, nil, 0, nil, out.baseAddress, out.count, &done)
                }
                return mono.withUnsafeBufferPointer { input in
                    soxr_process(resampler, input.baseAddress! + consumed, mono.count - consumed, &used,
                                 out.baseAddress, out.count, &done)
                }
            }
            if let failure { throw AudioError.resampleFailed(path: path, reason: String(cString: failure)) }
            guard inputEnded || used > 0 || done > 0 else {
                throw AudioError.resampleFailed(path: path, reason: "the resampler took no input and gave no output")
            }
            consumed += used
            output.append(contentsOf: buffer[0..<done])
            if inputEnded && done == 0 { flushed = true }
        } while inputEnded ? !flushed : consumed < mono.count
        if inputEnded {
            let total = Resampler.outputCount(framesRead, from: rate, to: targetRate)
            guard total > 0 else { throw AudioError.tooShort(path: path, samples: framesRead, rate: rate, targetRate: targetRate) }
            output = Array(output.prefix(max(0, total - produced)))
        }
        produced += output.count
        return output
    }
}

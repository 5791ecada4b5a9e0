import Foundation

/// Why chunk settings were refused.
public enum ChunkError: LocalizedError, Equatable {
    case badLength(seconds: Double)
    case badStride(seconds: [Double])
    case lengthRoundsToNothing(seconds: Double, frameSamples: Int, samplingRate: Int)
    case strideNotShorter(chunkSamples: Int, left: Int, right: Int)
    case notCTC(model: String, head: String)
    case chunkTooShort(path: String, start: Int, samples: Int)
    case noOutputFile

    public var errorDescription: String? {
        switch self {
        case let .badLength(seconds): return "the chunk length must be a positive number of seconds, not \(seconds)"
        case let .badStride(seconds):
            return "the stride must be one or two (left, right) non-negative numbers of seconds, not \(seconds)"
        case let .lengthRoundsToNothing(seconds, frameSamples, samplingRate):
            return "a chunk length of \(seconds) s rounds to no frame of \(frameSamples) samples at \(samplingRate) Hz"
        case let .strideNotShorter(chunkSamples, left, right):
            return "the chunk (\(chunkSamples) samples) must be longer than its left and right strides together (\(left) + \(right) samples)"
        case let .notCTC(model, head):
            return "\(model): chunked long audio needs a CTC head, and this run uses the \(head) head"
        case let .chunkTooShort(path, start, samples):
            return "\(path): the last chunk (\(samples) samples from sample \(start)) is too short for the model's conv stack to give one frame; choose other strides"
        case .noOutputFile:
            return "a chunked run keeps no output tensors to write (the chunks' logits are joined as argmax ids only)"
        }
    }
}

/// `--chunk-length S [--stride S | --stride L R]`: transformers' ASR pipeline `chunk_length_s` and `stride_length_s`.
public struct ChunkSettings: Sendable, Equatable {
    /// Seconds per chunk.
    public var length: Double
    /// Seconds of context dropped at a chunk's start and end: nil for length / 6 on both sides, one value for both,
    /// or [left, right].
    public var stride: [Double]?

    public init(length: Double, stride: [Double]? = nil) {
        self.length = length
        self.stride = stride
    }
}

/// Chunk settings in samples, as transformers' ASR pipeline derives them (pipelines/automatic_speech_recognition.py):
/// each length rounded half to even to whole logit frames, then times the samples per frame.
public struct ChunkPlan: Sendable, Equatable {
    /// Samples per chunk.
    public let chunkSamples: Int
    /// Samples of context dropped at the start of every chunk but the first.
    public let strideLeft: Int
    /// Samples of context dropped at the end of every chunk but the last.
    public let strideRight: Int
    /// Input samples per logit frame (`inputs_to_logits_ratio`).
    public let frameSamples: Int

    /// The length and stride seconds of `settings`, as given.
    public let settings: ChunkSettings

    /// Chunk i starts at sample i x step.
    public var step: Int { chunkSamples - strideLeft - strideRight }

    /// Longest chunk or stride accepted, in frames (a day of audio at 50 frames a second, far beyond any memory).
    static let maximumFrames = 5_000_000.0

    /// The plan of `settings` for a model at `samplingRate` Hz with `frameSamples` input samples per logit frame.
    public init(_ settings: ChunkSettings, samplingRate: Int, frameSamples: Int) throws {
        guard settings.length.isFinite, settings.length > 0 else { throw ChunkError.badLength(seconds: settings.length) }
        let stride = settings.stride ?? [settings.length / 6]
        guard (1...2).contains(stride.count), stride.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw ChunkError.badStride(seconds: stride)
        }
        let (left, right) = (stride[0], stride.count == 2 ? stride[1] : stride[0])
        /// int(round(seconds * sampling_rate / align_to) * align_to), Python's round being half to even.
        func samples(_ seconds: Double) throws -> Int {
            let frames = (seconds * Double(samplingRate) / Double(frameSamples)).rounded(.toNearestOrEven)
            guard frames <= Self.maximumFrames else { throw ChunkError.badLength(seconds: seconds) }
            return Int(frames) * frameSamples
        }
        chunkSamples = try samples(settings.length)
        strideLeft = try samples(left)
        strideRight = try samples(right)
        self.frameSamples = frameSamples
        self.settings = settings
        guard chunkSamples > 0 else {
            throw ChunkError.lengthRoundsToNothing(seconds: settings.length, frameSamples: frameSamples, samplingRate: samplingRate)
        }
        // transformers raises when chunk < left + right and fails in range() when they are equal (a zero step).
        guard chunkSamples > strideLeft + strideRight else {
            throw ChunkError.strideNotShorter(chunkSamples: chunkSamples, left: strideLeft, right: strideRight)
        }
    }

    /// The stride in seconds as applied, [left, right].
    public var strideSeconds: [Double] {
        let stride = settings.stride ?? [settings.length / 6]
        return stride.count == 2 ? stride : [stride[0], stride[0]]
    }

    /// The frames of a chunk's `frames` logits that join the transcript: the pipeline's `rescale_stride` of the
    /// chunk's (samples, left, right) to the nominal frame count round(samples / frameSamples), then
    /// `[left : token_n - right]` with Python's slice semantics.
    public func keptFrames(chunkSamples samples: Int, isFirst: Bool, isLast: Bool, frames: Int) -> Range<Int> {
        let left = isFirst ? 0 : strideLeft, right = isLast ? 0 : strideRight
        let nominal = Int((Double(samples) * (1 / Double(frameSamples))).rounded(.toNearestOrEven))
        let leftFrames = Int((Double(left) / Double(samples) * Double(nominal)).rounded(.toNearestOrEven))
        let rightFrames = Int((Double(right) / Double(samples) * Double(nominal)).rounded(.toNearestOrEven))
        return Self.pythonSlice(leftFrames, nominal - rightFrames, count: frames)
    }

    /// The indices `items[start:end]` takes in Python from `count` items (negative bounds count from the end).
    static func pythonSlice(_ start: Int, _ end: Int, count: Int) -> Range<Int> {
        func bound(_ index: Int) -> Int { index < 0 ? max(0, count + index) : min(index, count) }
        let (lower, upper) = (bound(start), bound(end))
        return lower..<max(lower, upper)
    }
}

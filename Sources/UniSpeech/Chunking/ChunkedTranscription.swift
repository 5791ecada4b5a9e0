import Foundation

/// One input transcribed in overlapping chunks.
public struct ChunkedTranscript: Sendable, Equatable {
    /// The input: path, samples at the model's rate, the file's own format.
    public var input: InputInfo
    /// The argmax ids of every chunk's kept frames, joined: one id per frame of the recording.
    public var ids: [Int]
    /// The joined ids decoded once.
    public var text: String
    /// The words of the joined ids, with times in the recording (upper-case when the vocabulary is, as transformers gives them).
    public var words: [TimedWord]
    /// Chunks run.
    public var chunks: Int
    /// Seconds of the forward passes.
    public var seconds: Double

    /// The transcript as a run reports it.
    public var meaning: InputMeaning { .transcript(text: text, words: words) }
}

/// Long audio through a CTC model as transformers' ASR pipeline runs it with `chunk_length_s` / `stride_length_s`
/// (pipelines/automatic_speech_recognition.py, `chunk_iter`, `rescale_stride`, `postprocess`): chunk i holds the
/// samples [i x step, i x step + chunk) and is normalised on its own with an all-ones attention mask; each chunk's
/// argmax ids lose their strides (none at the recording's start and end) and are joined, then decoded once. The
/// audio is read chunk by chunk: memory holds one chunk and its next samples, whatever the recording's length.
public enum ChunkedTranscription {
    /// Transcribes `path` with `model` (which needs a CTC head and a vocabulary) in the chunks of `plan`; refuses
    /// a chunk whose forward pass would need more than `memoryLimit` bytes (nil: no limit).
    public static func transcribe(path: String, model: SpeechModel, plan: ChunkPlan, memoryLimit: Int? = nil,
                                  progress: ProgressHandler? = nil) throws -> ChunkedTranscript {
        try requireCTC(model, head: .ctc)
        guard let tokenizer = model.tokenizer else { throw TokenizerError.missingVocabulary(source: model.bundle.description) }
        try ForwardMemory(model: model).check(path: path, samples: plan.chunkSamples, head: .ctc, samplingRate: model.samplingRate,
                                              limitBytes: memoryLimit)
        let stream = try AudioStream(path: path, samplingRate: Double(model.samplingRate))
        var extractorConfig = model.bundle.featureExtractor
        extractorConfig.returnAttentionMask = true  // chunk_iter asks for it whatever preprocessor_config.json says
        let extractor = FeatureExtractor(config: extractorConfig)
        var window = SampleWindow()
        var ids: [Int] = []
        var start = 0, chunks = 0, seconds = 0.0
        while true {
            try window.fill(to: plan.chunkSamples + 1, from: stream)  // one sample more tells whether this is the last chunk
            let length = min(plan.chunkSamples, window.count)
            let isLast = window.count <= plan.chunkSamples
            if length > (start == 0 ? 0 : plan.strideLeft) {
                let chunk = window.prefix(length)
                guard model.bundle.config.outputLength(forSamples: length) > 0 else {
                    throw ChunkError.chunkTooShort(path: path, start: start, samples: length)
                }
                let began = Date()
                let output = try model.run(extractor.makeBatch([chunk]), head: .ctc)
                seconds += Date().timeIntervalSince(began)
                let logits = output[OutputName.logits]!  // [1, T, V]
                let frames = output.frameLengths[0]
                let chunkIDs = HeadDecoding.greedyIDs(logits: logits.values, item: 0, frames: frames, paddedFrames: logits.shape[1],
                                                      vocabularySize: logits.shape[2])  // [T]
                ids += chunkIDs[plan.keptFrames(chunkSamples: length, isFirst: start == 0, isLast: isLast, frames: frames)]
                chunks += 1
                progress?(.step("\(path): \(minutes(start + length, of: stream.expectedSampleCount, rate: model.samplingRate)), chunk \(chunks)"))
            }
            if isLast { break }
            window.drop(plan.step)
            start += plan.step
        }
        let transcript = tokenizer.decode(ids)
        let ratio = model.bundle.config.inputsToLogitsRatio
        let words = transcript.wordOffsets.map { TimedWord($0, samplesPerFrame: ratio, samplingRate: Double(model.samplingRate)) }
        let input = InputInfo(path: path, sampleCount: start + window.count, sourceSampleRate: stream.sourceSampleRate,
                              sourceChannels: stream.sourceChannels)
        return ChunkedTranscript(input: input, ids: ids, text: transcript.text, words: words, chunks: chunks, seconds: seconds)
    }

    /// Throws unless `head` is CTC and `model` has it.
    static func requireCTC(_ model: SpeechModel, head: ModelHead) throws {
        guard head == .ctc else { throw ChunkError.notCTC(model: model.bundle.description, head: head.rawValue) }
        guard model.model.availableHeads.contains(.ctc) else {
            throw ModelError.headNotAvailable(model: model.bundle.description, head: ModelHead.ctc.rawValue,
                                              available: model.model.availableHeads.map(\.rawValue))
        }
    }

    /// "12.0 of 60.0 min".
    private static func minutes(_ samples: Int, of total: Int, rate: Int) -> String {
        String(format: "%.1f of %.1f min", Double(samples) / Double(rate) / 60, Double(max(total, samples)) / Double(rate) / 60)
    }
}

/// The samples of a stream from a moving start: filled at the end, dropped at the front.
struct SampleWindow {
    private var samples: [Float] = []
    private var head = 0

    /// Samples held.
    var count: Int { samples.count - head }

    /// Reads from `stream` until `wanted` samples are held or the stream ends.
    mutating func fill(to wanted: Int, from stream: AudioStream) throws {
        while count < wanted {
            let piece = try stream.read(upTo: wanted - count)
            if piece.isEmpty { return }
            samples += piece
        }
    }

    /// The first `length` samples held.
    func prefix(_ length: Int) -> [Float] { Array(samples[head..<(head + length)]) }

    /// Forgets the first `length` samples.
    mutating func drop(_ length: Int) {
        head += min(length, count)
        if head >= samples.count / 2 {
            samples.removeFirst(head)
            head = 0
        }
    }
}

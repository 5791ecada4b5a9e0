import Foundation
import UniSpeechCore

/// What one input's head output means for people.
public enum InputMeaning: Sendable, Equatable {
    /// Base and pretraining heads, or a CTC model without vocab.json: only tensor summaries apply.
    case none
    /// CTC head: greedy transcript and timed words.
    case transcript(text: String, words: [TimedWord])
    /// Classification head: the most probable classes, best first.
    case classes([ClassScore])
    /// Frame classification head: the runs of frames with the same most probable label, in time order.
    case segments([LabelSegment])
    /// X-vector head: the speaker embedding.
    case embedding([Float])
}

/// A run of consecutive frames whose most probable label is the same.
public struct LabelSegment: Sendable, Equatable {
    public var id: Int
    public var label: String
    /// First frame, and one past the last.
    public var startFrame: Int
    public var endFrame: Int
    /// startFrame and endFrame x inputs_to_logits_ratio / sampling_rate.
    public var startTime: Double
    public var endTime: Double
}

/// Decodes each batch item of a head's output: transcripts for CTC, labels and scores for classification, label
/// segments for frame classification, embeddings for x-vectors.
public enum RunDecoding {
    /// One meaning per batch item of `output`, in input order.
    public static func decode(_ output: ModelOutput, bundle: ModelBundle, tokenizer: CTCTokenizer?,
                              topK: Int = HeadDecoding.defaultTopK) throws -> [InputMeaning] {
        let count = output.frameLengths.count
        switch output.head {
        case .ctc:
            guard let tokenizer, let logits = output[OutputName.logits], logits.shape.count == 3 else {
                return Array(repeating: .none, count: count)
            }
            let samplingRate = Double(bundle.featureExtractor.samplingRate)
            return (0..<count).map { item in
                let ids = HeadDecoding.greedyIDs(logits: logits.values, item: item, frames: output.frameLengths[item],
                                                 paddedFrames: logits.shape[1], vocabularySize: logits.shape[2])
                let transcript = tokenizer.decode(ids)
                let words = transcript.wordOffsets.map {
                    TimedWord($0, samplesPerFrame: bundle.config.inputsToLogitsRatio, samplingRate: samplingRate)
                }
                return .transcript(text: transcript.text, words: words)
            }
        case .classification:
            guard let logits = output[OutputName.logits], logits.shape.count == 2 else { return Array(repeating: .none, count: count) }
            let labels = logits.shape[1]  // [B, L]
            return (0..<count).map { item in
                .classes(HeadDecoding.topClasses(logits: logits.values[(item * labels)..<((item + 1) * labels)],
                                                 labels: bundle.config.id2label, k: topK))
            }
        case .frameClassification:
            guard let logits = output[OutputName.logits], logits.shape.count == 3 else { return Array(repeating: .none, count: count) }
            let samplingRate = Double(bundle.featureExtractor.samplingRate), samplesPerFrame = bundle.config.inputsToLogitsRatio
            return (0..<count).map { item in
                let ids = HeadDecoding.greedyIDs(logits: logits.values, item: item, frames: output.frameLengths[item],
                                                 paddedFrames: logits.shape[1], vocabularySize: logits.shape[2])
                return .segments(ctcRuns(ids, blank: nil).map { run in
                    LabelSegment(id: run.item, label: bundle.config.id2label[run.item] ?? HeadDecoding.defaultLabel(run.item),
                                 startFrame: run.range.lowerBound, endFrame: run.range.upperBound,
                                 startTime: Double(run.range.lowerBound * samplesPerFrame) / samplingRate,
                                 endTime: Double(run.range.upperBound * samplesPerFrame) / samplingRate)
                })
            }
        case .xvector:
            guard let embeddings = output[OutputName.embeddings], embeddings.shape.count == 2 else {
                return Array(repeating: .none, count: count)
            }
            let width = embeddings.shape[1]  // [B, X]
            return (0..<count).map { .embedding(Array(embeddings.values[($0 * width)..<(($0 + 1) * width)])) }
        case .base, .pretraining:
            return Array(repeating: .none, count: count)
        }
    }

    /// The cosine similarity of two embeddings (0 when either is all zeros).
    public static func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, aSquares = 0.0, bSquares = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            aSquares += Double(x) * Double(x)
            bSquares += Double(y) * Double(y)
        }
        let norms = (aSquares * bSquares).squareRoot()
        return norms > 0 ? dot / norms : 0
    }
}

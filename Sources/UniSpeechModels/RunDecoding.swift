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
}

/// Decodes each batch item of a head's output: transcripts for CTC, labels and scores for classification.
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
        case .base, .pretraining:
            return Array(repeating: .none, count: count)
        }
    }
}

import Foundation

extension SpeechModel {
    /// The transcript of a long audio file in overlapping chunks, as transformers' ASR pipeline gives it with
    /// `chunk_length_s` / `stride_length_s`; the file is read chunk by chunk, so its length does not matter.
    ///
    ///     let transcript = try model.transcribe(contentsOf: url, chunks: ChunkSettings(length: 30))
    public func transcribe(contentsOf url: URL, chunks settings: ChunkSettings) throws -> Transcript {
        let plan = try ChunkPlan(settings, samplingRate: samplingRate, frameSamples: bundle.config.inputsToLogitsRatio)
        let chunked = try ChunkedTranscription.transcribe(path: url.path, model: self, plan: plan)
        return Transcript(text: chunked.text, words: chunked.words)
    }
}

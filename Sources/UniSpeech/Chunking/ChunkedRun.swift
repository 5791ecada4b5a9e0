import Foundation

/// The result of `run --chunk-length`: each input transcribed alone in overlapping chunks.
public struct ChunkedRunReport: Sendable {
    public var request: RunRequest
    /// The chunks and strides in samples, and the settings they came from.
    public var plan: ChunkPlan
    /// The model's sampling rate; every input was brought to it.
    public var samplingRate: Int
    /// One per input, in order.
    public var transcripts: [ChunkedTranscript]
    /// Seconds spent loading the model.
    public var loadSeconds: Double
    /// The engine that ran it, e.g. "onednn avx512_core_vnni, 2 threads".
    public var engine: String

    /// Seconds of all forward passes.
    public var seconds: Double { transcripts.reduce(0) { $0 + $1.seconds } }

    /// Lines for people: one transcript per input.
    public var text: String {
        let stride = plan.strideSeconds.map { String(format: "%g", $0) }.joined(separator: " / ")
        return (["model \(request.modelPath), head ctc, \(transcripts.count) input(s) in chunks of \(String(format: "%g", plan.settings.length)) s "
                 + "(stride \(stride) s), forward \(String(format: "%.3f", seconds)) s"]
                + transcripts.map { "\($0.input.path): \($0.text)" }).joined(separator: "\n")
    }

    /// The `chunking` member of the JSON report: the settings as given and in samples.
    public var chunkingJSON: JSONValue {
        .object([("chunk_length_s", .double(plan.settings.length)), ("stride_length_s", .array(plan.strideSeconds.map { .double($0) })),
                 ("chunk_samples", .int(Int64(plan.chunkSamples))),
                 ("stride_samples", .array([.int(Int64(plan.strideLeft)), .int(Int64(plan.strideRight))]))])
    }

    /// One input's entry: the one `run --json` gives, with the number of chunks.
    public static func inputEntry(_ transcript: ChunkedTranscript) -> [(key: String, value: JSONValue)] {
        RunReport.inputEntry(transcript.input, frames: transcript.ids.count, meaning: transcript.meaning)
            + [("chunks", .int(Int64(transcript.chunks)))]
    }

    /// The report as JSON for programs (schemas/run-output.schema.json); the joined logits are not kept, so
    /// `outputs` is empty.
    public var json: JSONValue {
        .object([
            ("model", .string(request.modelPath)), ("head", .string(ModelHead.ctc.rawValue)),
            ("sampling_rate", .int(Int64(samplingRate))), ("seconds", .double(seconds)), ("engine", .string(engine)),
            ("chunking", chunkingJSON),
            ("inputs", .array(transcripts.map { .object(Self.inputEntry($0)) })),
            ("outputs", .array([])), ("output_file", .null),
        ])
    }
}

/// `run --chunk-length`: loads the model once and transcribes each input alone in overlapping chunks.
public enum ChunkedRun {
    /// Runs `request` in the chunks of `settings`.
    public static func run(_ request: RunRequest, chunks settings: ChunkSettings) throws -> ChunkedRunReport {
        try run(request, chunks: settings, model: request.openModel())
    }

    /// Runs `request` on `model` (from `request.openModel()`) in the chunks of `settings`.
    public static func run(_ request: RunRequest, chunks settings: ChunkSettings, model: SpeechModel) throws -> ChunkedRunReport {
        guard request.outputPath == nil else { throw ChunkError.noOutputFile }
        let plan = try ChunkPlan(settings, samplingRate: model.samplingRate, frameSamples: model.bundle.config.inputsToLogitsRatio)
        try ChunkedTranscription.requireCTC(model, head: request.head ?? model.model.defaultHead)
        defer { request.progress?(.finished) }
        let transcripts = try request.inputPaths.map {
            try ChunkedTranscription.transcribe(path: $0, model: model, plan: plan, memoryLimit: request.memoryLimit,
                                                progress: request.progress)
        }
        return ChunkedRunReport(request: request, plan: plan, samplingRate: model.samplingRate, transcripts: transcripts,
                                loadSeconds: model.loadSeconds, engine: model.model.engine.summary)
    }
}

import Foundation

/// Why `run` could not start.
public enum RunError: LocalizedError, Equatable {
    case inputTooShort(path: String, samples: Int)

    public var errorDescription: String? {
        switch self {
        case let .inputTooShort(path, samples):
            return "\(path): \(samples) samples are too short for the model's conv stack to give one frame"
        }
    }
}

/// What `unispeech run` asks for.
public struct RunRequest: Sendable {
    public var modelPath: String
    public var inputPaths: [String]
    /// nil: the model's default head.
    public var head: ModelHead?
    public var outputPath: String?
    /// Also output every hidden state as transformers' `output_hidden_states=True` gives them (`hidden_states.N`).
    public var hiddenStates: Bool
    public var threads: Int
    public var gemm: GemmBackend
    /// The MMS language adapter to load (`LanguageAdapter`), nil for the weights as they are.
    public var targetLanguage: String?
    /// Record where the forward's time goes, operation by operation (`RunReport.profile`).
    public var profiling: Bool
    /// Told about each input read and the forward pass.
    public var progress: ProgressHandler?
    /// Inputs whose forward pass would need more bytes than this (`ForwardMemory`) are refused; nil: no limit.
    public var memoryLimit: Int?

    public init(modelPath: String, inputPaths: [String], head: ModelHead? = nil, outputPath: String? = nil,
                hiddenStates: Bool = false, threads: Int,
                gemm: GemmBackend = .onednn, targetLanguage: String? = nil, profiling: Bool = false,
                progress: ProgressHandler? = nil, memoryLimit: Int? = nil) {
        self.profiling = profiling
        self.modelPath = modelPath
        self.targetLanguage = targetLanguage
        self.inputPaths = inputPaths
        self.head = head
        self.outputPath = outputPath
        self.hiddenStates = hiddenStates
        self.threads = threads
        self.gemm = gemm
        self.progress = progress
        self.memoryLimit = memoryLimit
    }
}

extension RunRequest {
    /// Loads the model the request names, with its threads, GEMM engine, language and profiling.
    public func openModel() throws -> SpeechModel {
        try SpeechModel(path: modelPath, threads: threads, gemm: gemm, targetLanguage: targetLanguage, profiling: profiling)
    }
}

/// Summary statistics of one output tensor.
public struct TensorSummary: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var minimum: Float
    public var maximum: Float
    public var mean: Float

    init(_ tensor: NamedTensor) {
        name = tensor.name
        shape = tensor.shape
        minimum = tensor.values.min() ?? 0
        maximum = tensor.values.max() ?? 0
        mean = tensor.values.isEmpty ? 0 : Float(tensor.values.reduce(0.0) { $0 + Double($1) } / Double(tensor.values.count))
    }
}

/// The cosine similarity of two inputs' x-vector embeddings.
public struct EmbeddingSimilarity: Sendable, Equatable {
    /// Indices into the run's inputs, first < second.
    public var first: Int
    public var second: Int
    public var cosine: Double
}

/// The result of one `run`: the outputs, what they came from, and what they mean.
public struct RunReport: Sendable {
    public var request: RunRequest
    public var head: ModelHead
    /// The model's sampling rate; every input was brought to it.
    public var samplingRate: Int
    public var inputs: [InputInfo]
    public var output: ModelOutput
    /// Per input: transcript (CTC), classes (classification), or nothing beyond the summaries.
    public var meanings: [InputMeaning]
    /// Seconds of the forward pass.
    public var seconds: Double
    /// Seconds spent loading the model.
    public var loadSeconds: Double
    /// The engine that ran it, e.g. "onednn avx512_core_vnni, 2 threads".
    public var engine: String
    /// Where the forward's time went, when the request asked for it.
    public var profile: KernelProfile?

    public var summaries: [TensorSummary] { output.tensors.map(TensorSummary.init) }

    /// X-vector head with two inputs or more: the cosine similarity of every pair of embeddings, in input order.
    public var similarities: [EmbeddingSimilarity] {
        let embeddings = meanings.map { meaning -> [Float]? in
            if case let .embedding(values) = meaning { return values }
            return nil
        }
        guard embeddings.count >= 2 else { return [] }
        var pairs: [EmbeddingSimilarity] = []
        for first in embeddings.indices {
            for second in (first + 1)..<embeddings.count {
                guard let a = embeddings[first], let b = embeddings[second] else { continue }
                pairs.append(EmbeddingSimilarity(first: first, second: second, cosine: RunDecoding.cosineSimilarity(a, b)))
            }
        }
        return pairs
    }

    /// The pretraining head's codevector perplexity.
    public var codevectorPerplexity: Float? { output[OutputName.codevectorPerplexity]?.values.first }

    /// Lines for people: transcripts, labels, or shapes and summaries.
    public var text: String {
        var lines = ["model \(request.modelPath), head \(head.rawValue), \(inputs.count) input(s), forward \(String(format: "%.3f", seconds)) s"]
        for (index, input) in inputs.enumerated() {
            switch meanings[index] {
            case let .transcript(text, _):
                lines.append("\(input.path): \(text)")
            case let .classes(scores):
                let ranked = scores.map { "\($0.label) \(String(format: "%.3f", $0.score))" }.joined(separator: ", ")
                lines.append("\(input.path): \(scores.first?.label ?? "?")  (\(ranked))")
            case let .segments(segments):
                lines.append("\(input.path): \(segments.count) segment\(segments.count == 1 ? "" : "s")")
                for segment in segments {
                    lines.append("  \(String(format: "%.3f-%.3f s", segment.startTime, segment.endTime))  \(segment.label)")
                }
            case let .embedding(values):
                lines.append("\(input.path): \(input.origin(samplingRate: samplingRate)), embedding of \(values.count) values")
            case .none:
                lines.append("\(input.path): \(input.origin(samplingRate: samplingRate)), \(output.frameLengths[index]) frames")
            }
        }
        for pair in similarities {
            lines.append("cosine similarity \(inputs[pair.first].path) ~ \(inputs[pair.second].path): \(String(format: "%.4f", pair.cosine))")
        }
        if meanings.allSatisfy({ $0 == .none }) {
            for summary in summaries {
                lines.append("  \(summary.name) \(summary.shape): min \(summary.minimum), max \(summary.maximum), mean \(summary.mean)")
            }
        }
        if let path = request.outputPath { lines.append("wrote \(path)") }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON for programs (schemas/run-output.schema.json).
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("model", .string(request.modelPath)),
            ("head", .string(head.rawValue)),
            ("sampling_rate", .int(Int64(samplingRate))),
            ("seconds", .double(seconds)),
            ("engine", .string(engine)),
            ("inputs", .array(inputs.enumerated().map { index, input in
                .object(Self.inputEntry(input, frames: output.frameLengths[index], meaning: meanings[index]))
            })),
            ("outputs", .array(summaries.map { summary in
                .object([("name", .string(summary.name)), ("shape", .array(summary.shape.map { .int(Int64($0)) })),
                         ("min", .double(Double(summary.minimum))), ("max", .double(Double(summary.maximum))),
                         ("mean", .double(Double(summary.mean)))])
            })),
        ]
        if let perplexity = codevectorPerplexity { members.append(("codevector_perplexity", .double(Double(perplexity)))) }
        if case let pairs = similarities, !pairs.isEmpty {
            members.append(("similarities", .array(pairs.map { pair in
                .object([("first", .int(Int64(pair.first))), ("second", .int(Int64(pair.second))), ("cosine", .double(pair.cosine))])
            })))
        }
        members.append(("output_file", request.outputPath.map { .string($0) } ?? .null))
        return .object(members)
    }
}

extension RunReport {
    /// One input's entry in `run --json` (schemas/run-output.schema.json, `$defs/input`); also the body of each
    /// line of a manifest run (schemas/run-line.schema.json).
    public static func inputEntry(_ input: InputInfo, frames: Int, meaning: InputMeaning) -> [(key: String, value: JSONValue)] {
        var entry: [(key: String, value: JSONValue)] = [
            ("path", .string(input.path)), ("samples", .int(Int64(input.sampleCount))), ("frames", .int(Int64(frames))),
            ("source_sampling_rate", input.sourceSampleRate.map { .double($0) } ?? .null),
            ("source_channels", input.sourceChannels.map { .int(Int64($0)) } ?? .null),
        ]
        switch meaning {
        case let .transcript(text, words):
            entry.append(("transcript", .string(text)))
            entry.append(("words", .array(words.map { word in
                .object([("word", .string(word.word)), ("start_frame", .int(Int64(word.startFrame))),
                         ("end_frame", .int(Int64(word.endFrame))), ("start_time", .double(word.startTime)),
                         ("end_time", .double(word.endTime))])
            })))
        case let .classes(scores):
            entry.append(("label", .string(scores.first?.label ?? "")))
            entry.append(("scores", .array(scores.map { score in
                .object([("id", .int(Int64(score.id))), ("label", .string(score.label)), ("score", .double(score.score))])
            })))
        case let .segments(segments):
            entry.append(("segments", .array(segments.map { segment in
                .object([("id", .int(Int64(segment.id))), ("label", .string(segment.label)),
                         ("start_frame", .int(Int64(segment.startFrame))), ("end_frame", .int(Int64(segment.endFrame))),
                         ("start_time", .double(segment.startTime)), ("end_time", .double(segment.endTime))])
            })))
        case let .embedding(values):
            entry.append(("embedding_size", .int(Int64(values.count))))
        case .none:
            break
        }
        return entry
    }

    /// Load, forward and per-phase seconds as one JSON object (benchmarks/run.py reads it).
    public var timings: JSONValue {
        .object([("load_s", .double(loadSeconds)), ("forward_s", .double(seconds)), ("engine", .string(engine))]
            + output.phaseSeconds.map { ($0.name + "_s", JSONValue.double($0.seconds)) })
    }
}

/// Loads a model and inputs, runs one head on the padded batch, decodes it, and writes the outputs when asked.
public enum ModelRun {
    /// The model's own files (the path itself and, for a directory, the files in it), which `--output` must not replace.
    private static func modelFiles(_ path: String) -> [String] {
        [path] + ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { path + "/" + $0 }
    }

    /// Runs `request` end to end.
    public static func run(_ request: RunRequest) throws -> RunReport { try run(request, model: request.openModel()) }

    /// Runs `request` on `model`, loaded from `request.openModel()` (a caller that keeps it can skip its unloading).
    public static func run(_ request: RunRequest, model: SpeechModel) throws -> RunReport {
        let head = request.head ?? model.model.defaultHead
        if request.memoryLimit != nil, !request.inputPaths.isEmpty {
            let lengths = try request.inputPaths.map { try AudioStream(path: $0, samplingRate: Double(model.samplingRate)).expectedSampleCount }
            let longest = lengths.indices.max { lengths[$0] < lengths[$1] }!
            try ForwardMemory(model: model).check(path: request.inputPaths[longest], samples: lengths[longest], batch: lengths.count,
                                                  head: head, samplingRate: model.samplingRate, limitBytes: request.memoryLimit)
        }
        var waveforms: [[Float]] = []
        var inputs: [InputInfo] = []
        for (index, path) in request.inputPaths.enumerated() {
            request.progress?(.step("reading \(index + 1)/\(request.inputPaths.count) \(path)"))
            let input = try model.load(path: path)
            guard model.bundle.config.outputLength(forSamples: input.samples.count) > 0 else {
                request.progress?(.finished)
                throw RunError.inputTooShort(path: path, samples: input.samples.count)
            }
            waveforms.append(input.samples)
            inputs.append(input.info)
        }
        request.progress?(.step("running \(head.rawValue) on \(waveforms.count) input(s)"))
        let batch = model.batch(waveforms)
        waveforms = []
        let start = Date()
        let output = try model.run(batch, head: head, hiddenStates: request.hiddenStates)
        let seconds = Date().timeIntervalSince(start)
        request.progress?(.finished)
        if let path = request.outputPath {
            try SafetensorsWriter.write(
                output.tensors.map { SafetensorsWriter.Entry(name: $0.name, shape: $0.shape, floats: $0.values) },
                metadata: [("head", head.rawValue)], to: path, inputs: request.inputPaths + modelFiles(request.modelPath))
        }
        return RunReport(request: request, head: head, samplingRate: model.samplingRate, inputs: inputs, output: output,
                         meanings: try model.decode(output), seconds: seconds, loadSeconds: model.loadSeconds,
                         engine: model.model.engine.summary, profile: model.model.engine.profile)
    }
}

import Foundation

/// Why a manifest run could not start.
public enum ManifestRunError: LocalizedError, Equatable {
    case badBatchSize(Int)
    case batchNeedsAttentionMask(model: String)
    case batchWithGroupNorm(model: String)
    case batchWithChunks

    public var errorDescription: String? {
        switch self {
        case let .badBatchSize(size): return "the batch size must be at least 1, not \(size)"
        case let .batchNeedsAttentionMask(model):
            return "\(model): batches need a feature extractor that returns an attention mask (return_attention_mask in "
                + "preprocessor_config.json); without one the padding changes every output, so run its files one at a time"
        case let .batchWithGroupNorm(model):
            return "\(model): batches need a feature encoder without group norm (feat_extract_norm \"group\" in config.json "
                + "normalises its first conv layer over the padding too, so outputs would depend on the batch); run its files one at a time"
        case .batchWithChunks: return "chunked inputs run one at a time; batches and chunks do not combine"
        }
    }
}

/// What `unispeech run MODEL --manifest LIST --jsonl OUT` asks for.
public struct ManifestRunRequest: Sendable {
    public var modelPath: String
    /// A JSONL manifest, a text file of paths, or a directory (`Manifest`).
    public var manifestPath: String
    /// The JSONL output: one line per input (schemas/run-line.schema.json).
    public var outputPath: String
    /// Continue `outputPath`: skip the inputs it already has a line for.
    public var resume: Bool
    /// Run only this shard of the manifest; nil: all of it.
    public var shard: Shard?
    /// Inputs per forward pass; above 1 only for models whose feature extractor returns an attention mask.
    public var batchSize: Int
    /// nil: the model's default head.
    public var head: ModelHead?
    /// Run each input in overlapping chunks (CTC only).
    public var chunk: ChunkSettings?
    /// Inputs whose forward pass would need more bytes than this are refused (an error line); nil: no limit.
    public var memoryLimit: Int?
    public var threads: Int
    public var gemm: GemmBackend
    /// The MMS language adapter to load (`LanguageAdapter`), nil for the weights as they are.
    public var targetLanguage: String?
    /// Told after every input: files done, hours of audio, real-time factor, time left.
    public var progress: ProgressHandler?

    public init(modelPath: String, manifestPath: String, outputPath: String, resume: Bool = false, shard: Shard? = nil,
                batchSize: Int = 1, head: ModelHead? = nil, chunk: ChunkSettings? = nil, memoryLimit: Int? = nil, threads: Int,
                gemm: GemmBackend = .onednn, targetLanguage: String? = nil, progress: ProgressHandler? = nil) {
        self.targetLanguage = targetLanguage
        self.modelPath = modelPath
        self.manifestPath = manifestPath
        self.outputPath = outputPath
        self.resume = resume
        self.shard = shard
        self.batchSize = batchSize
        self.head = head
        self.chunk = chunk
        self.memoryLimit = memoryLimit
        self.threads = threads
        self.gemm = gemm
        self.progress = progress
    }
}

/// How a manifest run went.
public struct ManifestRunSummary: Sendable, Equatable {
    /// Inputs of the manifest (or of the shard).
    public var inputs: Int
    /// Inputs skipped because the output already had a line for them.
    public var skipped: Int
    public var succeeded: Int
    /// Inputs that gave an error line.
    public var failed: Int
    /// Seconds of audio run.
    public var audioSeconds: Double
    /// Wall-clock seconds of the run after loading the model.
    public var wallSeconds: Double
    /// Bytes of a torn last line cut off the output before resuming.
    public var tornBytes: Int

    /// One line for people.
    public var text: String {
        var line = "\(inputs) input(s): \(succeeded) done, \(failed) failed"
        if skipped > 0 { line += ", \(skipped) already in the output" }
        if tornBytes > 0 { line += " (a torn last line of \(tornBytes) bytes was cut off)" }
        line += String(format: "; %.3f h of audio in %@", audioSeconds / 3600, ManifestProgress.duration(wallSeconds))
        if audioSeconds > 0 { line += String(format: " (real-time factor %.4f)", wallSeconds / audioSeconds) }
        return line
    }
}

/// Runs a model over the inputs of a manifest, loaded once, writing one JSONL line per input as soon as it is done:
/// memory holds one input (or one batch, or one chunk) at a time, however many inputs there are. By default each
/// input runs alone, so its line holds what `run --json` gives for it alone. An input that fails gives a line with
/// `error` and the run goes on.
public enum ManifestRun {
    /// Inputs whose lengths are read ahead to form batches of similar length, per input of a batch.
    static let batchWindowFactor = 8

    /// Runs `request`.
    public static func run(_ request: ManifestRunRequest) throws -> ManifestRunSummary {
        guard request.batchSize >= 1 else { throw ManifestRunError.badBatchSize(request.batchSize) }
        if request.batchSize > 1 && request.chunk != nil { throw ManifestRunError.batchWithChunks }
        let manifest = try Manifest.read(path: request.manifestPath)
        let selected = manifest.entries.enumerated().filter { request.shard?.contains(position: $0.offset) ?? true }.map(\.element)
        let runner = try Runner(request)
        let inputs = [request.manifestPath, request.modelPath]
            + ((try? FileManager.default.contentsOfDirectory(atPath: request.modelPath)) ?? []).map { request.modelPath + "/" + $0 }
        let (output, done, tornBytes) = request.resume
            ? try JSONLOutput.resume(path: request.outputPath, inputs: inputs)
            : (try JSONLOutput.create(path: request.outputPath, inputs: inputs), [], 0)
        let pending = selected.filter { !done.contains($0.path) }
        var progress = ManifestProgress(total: pending.count, handler: request.progress)
        defer { request.progress?(.finished) }
        func write(_ outcome: Outcome) throws {
            try output.append(outcome.line)
            progress.record(audioSeconds: outcome.audioSeconds, failed: outcome.failed)
        }
        if request.batchSize == 1 {
            for entry in pending {
                try write(runner.runAlone(entry.path, progress: progress.prefixed(request.progress)))
            }
        } else {
            let window = request.batchSize * batchWindowFactor
            for first in stride(from: 0, to: pending.count, by: window) {
                try runner.runBatches(pending[first..<min(first + window, pending.count)].map(\.path), write: write)
            }
        }
        try output.close()
        return ManifestRunSummary(inputs: selected.count, skipped: selected.count - pending.count, succeeded: progress.done - progress.failed,
                                  failed: progress.failed, audioSeconds: progress.audioSeconds, wallSeconds: progress.elapsed,
                                  tornBytes: tornBytes)
    }

    /// One input's line and what it counts for.
    struct Outcome {
        var line: JSONValue
        var audioSeconds: Double
        var failed: Bool
    }

    /// The loaded model and what every input is run with.
    struct Runner {
        let request: ManifestRunRequest
        let model: SpeechModel
        let head: ModelHead
        let plan: ChunkPlan?
        let memory: ForwardMemory

        init(_ request: ManifestRunRequest) throws {
            self.request = request
            let model = try SpeechModel(path: request.modelPath, threads: request.threads, gemm: request.gemm,
                                        targetLanguage: request.targetLanguage)
            self.model = model
            head = request.head ?? model.model.defaultHead
            guard model.model.availableHeads.contains(head) else {
                throw ModelError.headNotAvailable(model: model.bundle.description, head: head.rawValue,
                                                  available: model.model.availableHeads.map(\.rawValue))
            }
            if request.batchSize > 1 {
                guard model.bundle.featureExtractor.returnAttentionMask else {
                    throw ManifestRunError.batchNeedsAttentionMask(model: model.bundle.description)
                }
                guard model.bundle.config.featExtractNorm != "group" else {
                    throw ManifestRunError.batchWithGroupNorm(model: model.bundle.description)
                }
            }
            plan = try request.chunk.map {
                try ChunkPlan($0, samplingRate: model.samplingRate, frameSamples: model.bundle.config.inputsToLogitsRatio)
            }
            if plan != nil {
                try ChunkedTranscription.requireCTC(model, head: head)
                guard model.tokenizer != nil else { throw TokenizerError.missingVocabulary(source: model.bundle.description) }
            }
            memory = ForwardMemory(model: model)
        }

        /// `entry` (the input's own members, "path" first) with the model and head after the path.
        func line(_ entry: [(key: String, value: JSONValue)]) -> JSONValue {
            .object([entry[0], ("model", .string(request.modelPath)), ("head", .string(head.rawValue))] + entry.dropFirst())
        }

        /// The error line of `path`.
        func failure(_ path: String, _ error: Error) -> Outcome {
            let message = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            return Outcome(line: line([("path", .string(path)), ("error", .string(message))]), audioSeconds: 0, failed: true)
        }

        func seconds(_ samples: Int) -> Double { Double(samples) / Double(model.samplingRate) }

        /// Runs the input at `path` alone (in chunks when asked).
        func runAlone(_ path: String, progress: ProgressHandler?) -> Outcome {
            do {
                if let plan {
                    let transcript = try ChunkedTranscription.transcribe(path: path, model: model, plan: plan,
                                                                         memoryLimit: request.memoryLimit, progress: progress)
                    return Outcome(line: line(ChunkedRunReport.inputEntry(transcript)),
                                   audioSeconds: seconds(transcript.input.sampleCount), failed: false)
                }
                let expected = try AudioStream(path: path, samplingRate: Double(model.samplingRate)).expectedSampleCount
                try memory.check(path: path, samples: expected, head: head, samplingRate: model.samplingRate,
                                 limitBytes: request.memoryLimit)
                let input = try model.load(path: path)
                guard model.bundle.config.outputLength(forSamples: input.samples.count) > 0 else {
                    throw RunError.inputTooShort(path: path, samples: input.samples.count)
                }
                let output = try model.run(model.batch([input.samples]), head: head)
                let meaning = try model.decode(output)[0]
                return Outcome(line: line(RunReport.inputEntry(input.info, frames: output.frameLengths[0], meaning: meaning)),
                               audioSeconds: seconds(input.samples.count), failed: false)
            } catch {
                return failure(path, error)
            }
        }

        /// Runs `paths` in batches of similar length (lengths from the files' headers), writing each input's outcome.
        func runBatches(_ paths: [String], write: (Outcome) throws -> Void) throws {
            var sized: [(path: String, samples: Int)] = []
            for path in paths {
                do {
                    sized.append((path, try AudioStream(path: path, samplingRate: Double(model.samplingRate)).expectedSampleCount))
                } catch {
                    try write(failure(path, error))
                }
            }
            sized = sized.enumerated().sorted { ($0.element.samples, $0.offset) < ($1.element.samples, $1.offset) }.map(\.element)
            for first in stride(from: 0, to: sized.count, by: request.batchSize) {
                var inputs: [AudioInput] = []
                for (path, _) in sized[first..<min(first + request.batchSize, sized.count)] {
                    do {
                        let input = try model.load(path: path)
                        guard model.bundle.config.outputLength(forSamples: input.samples.count) > 0 else {
                            throw RunError.inputTooShort(path: path, samples: input.samples.count)
                        }
                        inputs.append(input)
                    } catch {
                        try write(failure(path, error))
                    }
                }
                guard let longest = inputs.max(by: { $0.samples.count < $1.samples.count }) else { continue }
                do {
                    try memory.check(path: longest.path, samples: longest.samples.count, batch: inputs.count, head: head,
                                     samplingRate: model.samplingRate, limitBytes: request.memoryLimit)
                } catch {
                    for input in inputs { try write(runAlone(input.path, progress: nil)) }  // each alone is checked alone
                    continue
                }
                do {
                    let output = try model.run(model.batch(inputs.map(\.samples)), head: head)
                    let meanings = try model.decode(output)
                    for (index, input) in inputs.enumerated() {
                        try write(Outcome(line: line(RunReport.inputEntry(input.info, frames: output.frameLengths[index],
                                                                          meaning: meanings[index])),
                                          audioSeconds: seconds(input.samples.count), failed: false))
                    }
                } catch let error as OutputFileError {
                    throw error
                } catch {
                    for input in inputs { try write(failure(input.path, error)) }
                }
            }
        }
    }
}

/// Counts of a manifest run as it goes, told to a progress handler as one line:
/// "[120/400] 0.52 h audio, real-time factor 0.031, 3m12s left".
struct ManifestProgress {
    let total: Int
    let handler: ProgressHandler?
    private let start = Date()
    private(set) var done = 0
    private(set) var failed = 0
    private(set) var audioSeconds = 0.0

    init(total: Int, handler: ProgressHandler?) {
        self.total = total
        self.handler = handler
    }

    var elapsed: Double { Date().timeIntervalSince(start) }

    /// Counts one input and reports.
    mutating func record(audioSeconds seconds: Double, failed isFailure: Bool) {
        done += 1
        if isFailure { failed += 1 }
        audioSeconds += seconds
        handler?(.step(line))
    }

    /// "[done/total]" and the figures so far.
    var line: String {
        let wall = elapsed
        var text = "[\(done)/\(total)] " + String(format: "%.2f h audio", audioSeconds / 3600)
        if audioSeconds > 0 { text += String(format: ", real-time factor %.4f", wall / audioSeconds) }
        if done > 0 && done < total { text += ", " + Self.duration(wall / Double(done) * Double(total - done)) + " left" }
        if failed > 0 { text += ", \(failed) failed" }
        return text
    }

    /// A handler that puts "[done/total]" before the steps of the input being run (chunks of a long one).
    func prefixed(_ handler: ProgressHandler?) -> ProgressHandler? {
        guard let handler else { return nil }
        let prefix = "[\(done)/\(total)] "
        return { event in
            if case let .step(text) = event { handler(.step(prefix + text)) }
        }
    }

    /// "1h02m", "3m05s", "12s".
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole >= 3600 { return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60) }
        if whole >= 60 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return "\(whole)s"
    }
}

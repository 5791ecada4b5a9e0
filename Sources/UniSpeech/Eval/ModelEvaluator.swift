import Foundation

/// Why a manifest cannot be evaluated with the given models.
public enum EvalError: LocalizedError, Equatable {
    case unsupportedModel(model: String, heads: [String])
    case missingReference(manifest: String, line: Int, field: String, model: String)
    case unknownLabel(manifest: String, line: Int, label: String, model: String, labels: [String])
    case badReferenceText(manifest: String, line: Int, reason: String)
    case labelOutOfVocabulary(manifest: String, line: Int, id: Int, vocabularySize: Int, model: String)
    case classCountMismatch(model: String, labels: Int, scores: Int)
    case directoryManifest(path: String)

    public var errorDescription: String? {
        switch self {
        case let .unsupportedModel(model, heads):
            return "\(model): eval needs a CTC or a classification head; the model has \(heads.joined(separator: ", "))"
        case let .missingReference(manifest, line, field, model):
            return "\(manifest): line \(line): needs a string '\(field)' to evaluate \(model)"
        case let .unknownLabel(manifest, line, label, model, labels):
            return "\(manifest): line \(line): label '\(label)' is not one of \(model)'s labels (\(labels.joined(separator: ", ")))"
        case let .badReferenceText(manifest, line, reason):
            return "\(manifest): line \(line): \(reason)"
        case let .labelOutOfVocabulary(manifest, line, id, vocabularySize, model):
            return "\(manifest): line \(line): the text encodes to label id \(id), but \(model) has only \(vocabularySize) classes (vocab_size)"
        case let .classCountMismatch(model, labels, scores):
            return "\(model): id2label names \(labels) classes but the classifier gives \(scores) scores"
        case let .directoryManifest(path):
            return "\(path): is a directory; eval needs a JSONL manifest giving each file's text or label"
        }
    }
}

/// What `unispeech eval` asks for.
public struct EvalRequest: Sendable {
    /// A JSONL manifest: `{"audio": PATH, "text": ...}` (CTC) or `{"audio": PATH, "label": ...}` (classifiers).
    public var manifestPath: String
    /// HF directories or .unispeech files, evaluated side by side.
    public var modelPaths: [String]
    public var threads: Int
    public var gemm: GemmBackend
    /// How many of the worst CTC utterances keep their waveform for the HTML report's plots.
    public var plottedUtterances: Int
    /// Told about each file as it is done, with the time left.
    public var progress: ProgressHandler?

    /// Worst utterances plotted unless asked otherwise.
    public static let defaultPlottedUtterances = 5

    public init(manifestPath: String, modelPaths: [String], threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                gemm: GemmBackend = .onednn, plottedUtterances: Int = defaultPlottedUtterances,
                progress: ProgressHandler? = nil) {
        self.manifestPath = manifestPath
        self.modelPaths = modelPaths
        self.threads = threads
        self.gemm = gemm
        self.plottedUtterances = plottedUtterances
        self.progress = progress
    }
}

/// What a model is evaluated on: transcripts (CTC) or labels (sequence classification).
public enum EvalTask: String, Sendable {
    case ctc
    case classification
}

/// One model of an evaluation and how it ran.
public struct EvaluatedModel: Sendable {
    public var path: String
    /// "hf" for a HF directory, else the .unispeech file's weight format ("f32", "f16", "int8").
    public var weights: String
    public var task: EvalTask
    /// How its CTC loss is computed; nil for classifiers and for CTC models without `pad_token_id`.
    public var loss: CTCLoss?
    /// Class names by id (classifiers).
    public var labels: [String]
    public var samplingRate: Int
    /// Input samples per logit frame (CTC spans -> seconds).
    public var samplesPerFrame: Int
    public var loadSeconds: Double
    /// Seconds of all forward passes.
    public var forwardSeconds: Double
    /// The engine that ran it, e.g. "onednn avx2, 2 threads".
    public var engine: String
}

/// One CTC model's answer for one utterance.
public struct CTCUtteranceResult: Sendable, Equatable {
    /// The greedy transcript, as transformers' `batch_decode` gives it.
    public var hypothesis: String
    /// The reference's label ids, as transformers' tokenizer encodes it.
    public var labelIDs: [Int]
    public var edits: EditCounts
    /// The CTC loss as the model's ForCTC computes it (+inf when no alignment fits and ctc_zero_infinity is false);
    /// nil when the model has no `pad_token_id`.
    public var loss: Double?
    /// Logit frames of the utterance.
    public var frames: Int
    /// Each emitted token with its frames.
    public var spans: [CTCTokenSpan]
}

/// One classifier's answer for one utterance.
public struct ClassificationUtteranceResult: Sendable, Equatable {
    public var predictedID: Int
    public var predicted: String
    /// Softmax probability of the predicted class.
    public var score: Double
    /// The reference label's id.
    public var labelID: Int
    public var correct: Bool { predictedID == labelID }
}

/// A model's answer for one utterance.
public enum UtteranceResult: Sendable, Equatable {
    case ctc(CTCUtteranceResult)
    case classification(ClassificationUtteranceResult)

    public var ctc: CTCUtteranceResult? {
        if case let .ctc(result) = self { return result }
        return nil
    }

    public var classification: ClassificationUtteranceResult? {
        if case let .classification(result) = self { return result }
        return nil
    }
}

/// One manifest entry and every model's answer for it.
public struct EvalUtterance: Sendable {
    public var entry: ManifestEntry
    /// Seconds of audio.
    public var duration: Double
    /// One result per model, in the models' order.
    public var results: [UtteranceResult]
}

/// The outcome of `eval`: the models, every utterance's results, and the waveforms kept for plots.
public struct EvalReport: Sendable {
    public var manifestPath: String
    public var models: [EvaluatedModel]
    public var utterances: [EvalUtterance]
    /// The worst CTC utterances (most character errors over the models, then highest loss), worst first.
    public var plotted: [Int]
    /// Samples of each plotted utterance, at `waveformRate`.
    public var waveforms: [Int: [Float]]
    public var waveformRate: Int
}

/// Runs every file of a labelled manifest alone through each model and scores the answers.
public enum ModelEvaluator {
    /// Loads the models, checks the manifest against them, runs every file and scores it.
    public static func evaluate(_ request: EvalRequest) throws -> EvalReport {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: request.manifestPath, isDirectory: &isDirectory), isDirectory.boolValue {
            throw EvalError.directoryManifest(path: request.manifestPath)
        }
        let manifest = try Manifest.read(path: request.manifestPath)
        var loaded: [(model: SpeechModel, info: EvaluatedModel)] = []
        for path in request.modelPaths {
            request.progress?(.step("loading \(path)"))
            let model = try SpeechModel(path: path, threads: request.threads, gemm: request.gemm)
            // One untimed forward on a second of silence: the engine's one-time set-up (threads, kernel code) is not
            // charged to whichever model happens to run first.
            _ = try model.run(model.batch([[Float](repeating: 0, count: model.samplingRate)]))
            loaded.append((model, try describe(model, path: path)))
        }
        let labelIDs = try checkReferences(manifest, models: loaded)

        var utterances: [EvalUtterance] = []
        let start = Date()
        for (index, entry) in manifest.entries.enumerated() {
            request.progress?(.step(progressLine(done: index, total: manifest.entries.count, current: entry.audio,
                                                 elapsed: Date().timeIntervalSince(start))))
            var audio: [Int: [Float]] = [:]
            var results: [UtteranceResult] = []
            var duration = 0.0
            for (modelIndex, (model, info)) in loaded.enumerated() {
                let samples = try audio[info.samplingRate] ?? load(entry, for: model)
                audio[info.samplingRate] = samples
                if modelIndex == 0 { duration = Double(samples.count) / Double(info.samplingRate) }
                let forwardStart = Date()
                let output = try model.run(model.batch([samples]))
                loaded[modelIndex].info.forwardSeconds += Date().timeIntervalSince(forwardStart)
                results.append(try score(output, entry: entry, model: model, info: &loaded[modelIndex].info,
                                         labelIDs: labelIDs[modelIndex]?[index], manifest: manifest.path))
            }
            utterances.append(EvalUtterance(entry: entry, duration: duration, results: results))
        }
        request.progress?(.finished)

        let plotted = worstCTCUtterances(utterances, count: request.plottedUtterances)
        var waveforms: [Int: [Float]] = [:]
        let waveformModel = loaded.first { $0.info.task == .ctc } ?? loaded[0]
        for index in plotted { waveforms[index] = try load(utterances[index].entry, for: waveformModel.model) }
        return EvalReport(manifestPath: manifest.path, models: loaded.map(\.info), utterances: utterances, plotted: plotted,
                          waveforms: waveforms, waveformRate: waveformModel.info.samplingRate)
    }

    /// "3/9 files done, 0:12 left: name" (the file now running); the time left from the mean seconds per file so far.
    static func progressLine(done: Int, total: Int, current: String, elapsed: Double) -> String {
        var line = "\(done)/\(total) files done"
        if done > 0 {
            let left = Int((elapsed / Double(done) * Double(total - done)).rounded())
            line += String(format: ", %d:%02d left", left / 60, left % 60)
        }
        return line + ": " + current
    }

    /// What the model is evaluated on, from its own head.
    private static func describe(_ model: SpeechModel, path: String) throws -> EvaluatedModel {
        let bundle = model.bundle
        let task: EvalTask
        switch model.model.defaultHead {
        case .ctc:
            task = .ctc
            guard model.tokenizer != nil else { throw TokenizerError.missingVocabulary(source: bundle.description) }
        case .classification:
            task = .classification
        default:
            throw EvalError.unsupportedModel(model: path, heads: model.model.availableHeads.map(\.rawValue))
        }
        let loss = task == .ctc && bundle.config.padTokenId != nil
            ? try CTCLoss(config: bundle.config, source: bundle.description) : nil
        // transformers: num_labels = len(id2label), class i named id2label[i].
        let labels = (0..<bundle.config.id2label.count).map { bundle.config.id2label[$0] ?? HeadDecoding.defaultLabel($0) }
        return EvaluatedModel(
            path: path, weights: (bundle.weights as? NativeReader)?.header.weightFormat.rawValue ?? "hf", task: task,
            loss: loss, labels: task == .classification ? labels : [], samplingRate: model.samplingRate,
            samplesPerFrame: bundle.config.inputsToLogitsRatio, loadSeconds: model.loadSeconds, forwardSeconds: 0,
            engine: model.model.engine.summary)
    }

    /// Before any audio is read: every line has what each model needs; CTC references encode into labels the model
    /// has; classifier labels are the model's. Returns, per model, each entry's label ids (CTC) or class id.
    private static func checkReferences(_ manifest: Manifest, models: [(model: SpeechModel, info: EvaluatedModel)])
        throws -> [[[Int]]?] {
        try models.map { model, info -> [[Int]]? in
            switch info.task {
            case .ctc:
                let tokenizer = model.tokenizer!
                return try manifest.entries.map { entry in
                    guard let text = entry.text else {
                        throw EvalError.missingReference(manifest: manifest.path, line: entry.line, field: Manifest.Key.text, model: info.path)
                    }
                    let ids: [Int]
                    do {
                        ids = try tokenizer.labels(for: text)
                    } catch let error as LabelEncodingError {
                        throw EvalError.badReferenceText(manifest: manifest.path, line: entry.line, reason: error.localizedDescription)
                    }
                    let vocabularySize = model.bundle.config.vocabSize
                    if let id = ids.first(where: { $0 >= vocabularySize }) {
                        throw EvalError.labelOutOfVocabulary(manifest: manifest.path, line: entry.line, id: id,
                                                             vocabularySize: vocabularySize, model: info.path)
                    }
                    return ids
                }
            case .classification:
                // Without id2label the classes are named by the first forward pass (LABEL_0 ...), checked then.
                if info.labels.isEmpty { return nil }
                return try manifest.entries.map { entry in
                    guard let label = entry.label else {
                        throw EvalError.missingReference(manifest: manifest.path, line: entry.line, field: Manifest.Key.label, model: info.path)
                    }
                    guard let id = info.labels.firstIndex(of: label) else {
                        throw EvalError.unknownLabel(manifest: manifest.path, line: entry.line, label: label, model: info.path,
                                                     labels: info.labels)
                    }
                    return [id]
                }
            }
        }
    }

    /// The entry's samples at the model's rate; too short for one frame is an error naming the file.
    private static func load(_ entry: ManifestEntry, for model: SpeechModel) throws -> [Float] {
        let samples = try model.load(path: entry.path).samples
        guard model.bundle.config.outputLength(forSamples: samples.count) > 0 else {
            throw RunError.inputTooShort(path: entry.path, samples: samples.count)
        }
        return samples
    }

    /// Scores one model's output for one entry against its reference.
    private static func score(_ output: ModelOutput, entry: ManifestEntry, model: SpeechModel, info: inout EvaluatedModel,
                              labelIDs: [Int]?, manifest: String) throws -> UtteranceResult {
        let logits = output[OutputName.logits]!
        switch info.task {
        case .ctc:
            let frames = output.frameLengths[0], classes = logits.shape[2]  // logits [1, T, V]
            let ids = HeadDecoding.greedyIDs(logits: logits.values, item: 0, frames: frames, paddedFrames: logits.shape[1],
                                             vocabularySize: classes)
            let tokenizer = model.tokenizer!
            let hypothesis = tokenizer.decode(ids).text
            let labels = labelIDs ?? []
            let loss = info.loss?.loss(logits: logits.values[0..<(frames * classes)], frames: frames, classes: classes, labels: labels)
            return .ctc(CTCUtteranceResult(
                hypothesis: hypothesis, labelIDs: labels, edits: EditCounts(reference: entry.text ?? "", hypothesis: hypothesis),
                loss: loss, frames: frames, spans: tokenizer.tokenSpans(ids)))
        case .classification:
            let scores = logits.values  // [1, L]
            if info.labels.isEmpty { info.labels = scores.indices.map(HeadDecoding.defaultLabel) }
            guard scores.count == info.labels.count else {
                throw EvalError.classCountMismatch(model: info.path, labels: info.labels.count, scores: scores.count)
            }
            let predicted = HeadDecoding.argmax(scores, in: scores.indices)
            let labelID: Int
            if let id = labelIDs?.first {
                labelID = id
            } else {
                guard let label = entry.label else {
                    throw EvalError.missingReference(manifest: manifest, line: entry.line, field: Manifest.Key.label, model: info.path)
                }
                guard let id = info.labels.firstIndex(of: label) else {
                    throw EvalError.unknownLabel(manifest: manifest, line: entry.line, label: label, model: info.path, labels: info.labels)
                }
                labelID = id
            }
            return .classification(ClassificationUtteranceResult(
                predictedID: predicted, predicted: info.labels[predicted], score: HeadDecoding.softmax(scores)[predicted],
                labelID: labelID))
        }
    }

    /// Indices of up to `count` CTC utterances, most character errors (over the models) first, then highest loss.
    static func worstCTCUtterances(_ utterances: [EvalUtterance], count: Int) -> [Int] {
        let ranked: [(index: Int, errors: Int, loss: Double)] = utterances.enumerated().compactMap { index, utterance in
            let results = utterance.results.compactMap(\.ctc)
            guard !results.isEmpty else { return nil }
            return (index, results.map(\.edits.charErrors).max()!, results.compactMap(\.loss).max() ?? 0)
        }
        return ranked.sorted { ($0.errors, $0.loss, -$0.index) > ($1.errors, $1.loss, -$1.index) }.prefix(max(count, 0)).map(\.index)
    }
}

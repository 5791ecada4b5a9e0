import Foundation

/// A row-major f32 tensor and its shape, as a model output.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// A greedy CTC transcript: the text as transformers' `batch_decode` gives it and each word with its times.
public struct Transcript: Sendable, Equatable {
    public var text: String
    public var words: [TimedWord]
}

/// A classifier's answer: the most probable label and the probability of each class, most probable first.
public struct Classification: Sendable, Equatable {
    public var label: String
    public var scores: [ClassScore]
}

/// A speech model loaded once and called for every file: an HF directory or a .unispeech file, its feature
/// extractor and tokenizer, on its own compute engine. Safe to call from several tasks at once.
///
///     let model = try SpeechModel(path: "examples/unispeech-digits-ctc", threads: 2)
///     let transcript = try model.transcribe(contentsOf: URL(fileURLWithPath: "examples/audio/word-7-zero.wav"))
///     print(transcript.text)  // "zero"
public final class SpeechModel: Sendable {
    /// What was loaded: config, preprocessing, weights and tokenizer files.
    public let bundle: ModelBundle
    /// The graph with every head its weights hold.
    public let model: UniSpeechModel
    /// The CTC tokenizer, when the model has a vocabulary.
    public let tokenizer: CTCTokenizer?
    /// Seconds spent loading (files opened, weights mapped and arranged).
    public let loadSeconds: Double

    /// Loads the model at `path` (a HF directory or a .unispeech file) to run on `threads` threads with `gemm`; with
    /// `targetLanguage`, its MMS adapter for that language; with `profiling`, the engine records where the time goes
    /// (`model.engine.profile`).
    public init(path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount, gemm: GemmBackend = .onednn,
                targetLanguage: String? = nil, profiling: Bool = false) throws {
        let start = Date()
        bundle = try ModelBundle.open(path: path, targetLanguage: targetLanguage)
        model = try UniSpeechModel(bundle: bundle, engine: try ComputeEngine(threads: threads, backend: gemm, profiling: profiling))
        tokenizer = try bundle.tokenizer()
        loadSeconds = Date().timeIntervalSince(start)
    }

    /// The sampling rate the model expects; audio files are resampled to it.
    public var samplingRate: Int { bundle.featureExtractor.samplingRate }

    /// Reads an audio file (any rate, mixed to mono, resampled) or a .npy of samples at the model's rate.
    public func load(path: String) throws -> AudioInput {
        try AudioInput.load(path: path, samplingRate: Double(samplingRate))
    }

    /// The padded, normalised batch the model reads for `waveforms`, as the feature extractor makes it.
    public func batch(_ waveforms: [[Float]]) -> InputBatch {
        FeatureExtractor(config: bundle.featureExtractor).makeBatch(waveforms)
    }

    /// Runs `head` (default: the model's own) on a padded batch; with `hiddenStates` the outputs end with
    /// transformers' `hidden_states.0 ... hidden_states.N`.
    public func run(_ batch: InputBatch, head: ModelHead? = nil, hiddenStates: Bool = false) throws -> ModelOutput {
        try model.run(batch, head: head ?? model.defaultHead, hiddenStates: hiddenStates)
    }

    /// The head's outputs for one waveform at the model's rate, under transformers' output names.
    public func run(samples: [Float], head: ModelHead? = nil) throws -> [String: Tensor] {
        let output = try run(batch([samples]), head: head)
        return Dictionary(uniqueKeysWithValues: output.tensors.map { ($0.name, Tensor(shape: $0.shape, values: $0.values)) })
    }

    /// What each batch item's output means: transcript (CTC), classes (classification), label segments (frame
    /// classification), embedding (x-vector), or nothing.
    public func decode(_ output: ModelOutput) throws -> [InputMeaning] {
        try RunDecoding.decode(output, bundle: bundle, tokenizer: tokenizer)
    }

    /// The transcript of one waveform at the model's rate (the model needs a CTC head and a vocabulary).
    public func transcribe(samples: [Float]) throws -> Transcript {
        guard model.availableHeads.contains(.ctc) else {
            throw ModelError.headNotAvailable(model: bundle.description, head: ModelHead.ctc.rawValue,
                                              available: model.availableHeads.map(\.rawValue))
        }
        guard case let .transcript(text, words)? = try decode(try run(batch([samples]), head: .ctc)).first else {
            throw TokenizerError.missingVocabulary(source: bundle.description)
        }
        return Transcript(text: text, words: words)
    }

    /// The transcript of an audio file.
    public func transcribe(contentsOf url: URL) throws -> Transcript { try transcribe(samples: try load(path: url.path).samples) }

    /// The label of one waveform at the model's rate (the model needs a classification head).
    public func classify(samples: [Float]) throws -> Classification {
        guard model.availableHeads.contains(.classification) else {
            throw ModelError.headNotAvailable(model: bundle.description, head: ModelHead.classification.rawValue,
                                              available: model.availableHeads.map(\.rawValue))
        }
        let output = try run(batch([samples]), head: .classification)
        let logits = output[OutputName.logits]!
        let scores = HeadDecoding.topClasses(logits: logits.values[...], labels: bundle.config.id2label, k: logits.values.count)
        return Classification(label: scores.first?.label ?? "", scores: scores)
    }

    /// The label of an audio file.
    public func classify(contentsOf url: URL) throws -> Classification { try classify(samples: try load(path: url.path).samples) }
}

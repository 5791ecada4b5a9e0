import Foundation

/// Why two models could not be compared.
public enum VerifyError: LocalizedError, Equatable {
    case headsDiffer(candidate: String, candidateHeads: [String], reference: String, referenceHeads: [String])
    case shapesDiffer(output: String, candidateShape: [Int], referenceShape: [Int])
    case stagesDiffer(stage: String, reference: String)

    public var errorDescription: String? {
        switch self {
        case let .headsDiffer(candidate, candidateHeads, reference, referenceHeads):
            return "\(candidate): has heads \(candidateHeads.joined(separator: ", ")) but the reference \(reference) has \(referenceHeads.joined(separator: ", ")); they are not the same model"
        case let .shapesDiffer(output, candidateShape, referenceShape):
            return "output '\(output)' has shape \(candidateShape) in the candidate but \(referenceShape) in the reference; they are not the same model"
        case let .stagesDiffer(stage, reference):
            return "the candidate's forward pass has stage \(stage) where the reference's has \(reference); they are not the same model"
        }
    }
}

/// What to compare and how strictly.
public struct VerifyRequest: Sendable {
    public var candidatePath: String
    public var referencePath: String
    /// Audio or .npy inputs; empty means the built-in `TestSignals`.
    public var audioPaths: [String]
    /// Overrides of `VerifyThresholds.defaults` for the candidate's weight format.
    public var minCosine: Double?
    public var minArgmaxAgreement: Double?
    public var requireSameTranscripts: Bool
    /// Also compare stage by stage (`VerifyReport.stages`), with these overrides of the stage thresholds.
    public var perLayer: Bool
    public var minStageCosine: Double?
    public var minStageSQNR: Double?
    /// Threads and GEMM library of each model's engine.
    public var threads: Int
    public var gemm: GemmBackend
    /// The MMS language adapter both models load (a native file must have it built in).
    public var targetLanguage: String?
    /// Told which head runs.
    public var progress: ProgressHandler?

    public init(candidatePath: String, referencePath: String, audioPaths: [String] = [], minCosine: Double? = nil,
                minArgmaxAgreement: Double? = nil, requireSameTranscripts: Bool = false, perLayer: Bool = false,
                minStageCosine: Double? = nil, minStageSQNR: Double? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount, gemm: GemmBackend = .onednn,
                targetLanguage: String? = nil, progress: ProgressHandler? = nil) {
        self.threads = threads
        self.targetLanguage = targetLanguage
        self.gemm = gemm
        self.progress = progress
        self.candidatePath = candidatePath
        self.referencePath = referencePath
        self.audioPaths = audioPaths
        self.minCosine = minCosine
        self.minArgmaxAgreement = minArgmaxAgreement
        self.requireSameTranscripts = requireSameTranscripts
        self.perLayer = perLayer
        self.minStageCosine = minStageCosine
        self.minStageSQNR = minStageSQNR
    }
}

/// One output tensor of one head, candidate against reference, over the real (unpadded) frames.
public struct OutputComparison: Sendable, Equatable {
    public var head: ModelHead
    public var name: String
    public var shape: [Int]
    public var cosine: Double
    public var maxAbsError: Double
    /// maxAbsError / max |reference|.
    public var relativeError: Double
}

/// How often the candidate picks the same argmax as the reference.
public struct ArgmaxAgreement: Sendable, Equatable {
    public enum Kind: String, Sendable { case ctcFrames = "ctc_frames", codevectors, labels, frameLabels = "frame_labels" }
    public var kind: Kind
    public var agreeing: Int
    public var total: Int
    public var fraction: Double { total == 0 ? 1 : Double(agreeing) / Double(total) }
}

/// Greedy CTC transcripts of one input from both models.
public struct TranscriptComparison: Sendable, Equatable {
    public var input: String
    public var candidate: String
    public var reference: String
    public var same: Bool { candidate == reference }
}

/// The outcome of verify: every comparison, the thresholds used and what missed them.
public struct VerifyReport: Sendable {
    public var candidatePath: String
    public var referencePath: String
    public var candidateFormat: WeightFormat
    public var inputs: [(name: String, samples: Int)]
    /// The audio files the inputs came from (empty for the built-in signals).
    public var audioPaths: [String] = []
    public var thresholds: VerifyThresholds
    public var outputs: [OutputComparison] = []
    public var agreements: [ArgmaxAgreement] = []
    public var transcripts: [TranscriptComparison] = []
    /// With `--per-layer`: every stage in graph order (the base model's, then each head's); nil without.
    public var stages: [StageComparison]?
    /// The first stage whose isolated figures miss the stage thresholds: where the candidate starts to diverge.
    public var firstDivergentStage: StageComparison? { stages?.first { !$0.isolatedMeets(thresholds) } }
    /// One sentence per missed threshold.
    public var failures: [String] = []
    public var passed: Bool { failures.isEmpty }
}

/// Runs every head of two models on the same inputs and compares the outputs.
public enum ModelVerifier {
    /// Verifies the candidate against the reference; a missed threshold is a failure in the report, not an error.
    public static func verify(_ request: VerifyRequest) throws -> VerifyReport {
        let candidateBundle = try ModelBundle.open(path: request.candidatePath, targetLanguage: request.targetLanguage)
        let referenceBundle = try ModelBundle.open(path: request.referencePath, targetLanguage: request.targetLanguage)
        for (path, bundle) in [(request.candidatePath, candidateBundle), (request.referencePath, referenceBundle)] {
            try (bundle.weights as? NativeReader)?.checkChecksums()
            try FiniteCheck.requireFinite(bundle.weights, description: path)
        }
        let candidate = try UniSpeechModel(bundle: candidateBundle, engine: try ComputeEngine(threads: request.threads, backend: request.gemm))
        let reference = try UniSpeechModel(bundle: referenceBundle, engine: try ComputeEngine(threads: request.threads, backend: request.gemm))
        guard candidate.availableHeads == reference.availableHeads else {
            throw VerifyError.headsDiffer(candidate: request.candidatePath, candidateHeads: candidate.availableHeads.map(\.rawValue),
                                          reference: request.referencePath, referenceHeads: reference.availableHeads.map(\.rawValue))
        }
        let format = NativeFormat.isNativePath(request.candidatePath)
            ? try NativeReader(path: request.candidatePath).header.weightFormat : .f32
        var thresholds = VerifyThresholds.defaults(for: format)
        thresholds.minCosine = request.minCosine ?? thresholds.minCosine
        thresholds.minArgmaxAgreement = request.minArgmaxAgreement ?? thresholds.minArgmaxAgreement
        thresholds.requireSameTranscripts = request.requireSameTranscripts
        thresholds.minStageCosine = request.minStageCosine ?? thresholds.minStageCosine
        thresholds.minStageSQNR = request.minStageSQNR ?? thresholds.minStageSQNR

        let rate = reference.featureExtractorConfig.samplingRate
        let inputs: [(name: String, samples: [Float])] = request.audioPaths.isEmpty
            ? TestSignals.make(samplingRate: rate)
            : try request.audioPaths.map { (URL(fileURLWithPath: $0).lastPathComponent, try AudioInput.load(path: $0, samplingRate: Double(rate)).samples) }
        let candidateBatch = FeatureExtractor(config: candidate.featureExtractorConfig).makeBatch(inputs.map(\.samples))
        let referenceBatch = FeatureExtractor(config: reference.featureExtractorConfig).makeBatch(inputs.map(\.samples))

        var report = VerifyReport(candidatePath: request.candidatePath, referencePath: request.referencePath,
                                  candidateFormat: format, inputs: inputs.map { ($0.name, $0.samples.count) },
                                  audioPaths: request.audioPaths, thresholds: thresholds)
        var baseOutputs: (candidate: ModelOutput, reference: ModelOutput)?
        for (index, head) in reference.availableHeads.enumerated() {
            request.progress?(.step("[\(index + 1)/\(reference.availableHeads.count)] running the \(head.rawValue) head"))
            let c = try candidate.run(candidateBatch, head: head)
            let r = try reference.run(referenceBatch, head: head)
            if head == .base { baseOutputs = (c, r) }
            for (ct, rt) in zip(c.tensors, r.tensors) {
                guard ct.shape == rt.shape, ct.name == rt.name else {
                    throw VerifyError.shapesDiffer(output: rt.name, candidateShape: ct.shape, referenceShape: rt.shape)
                }
                report.outputs.append(compare(ct, rt, head: head, frameLengths: r.frameLengths))
            }
            switch head {
            case .base, .xvector:
                break
            case .ctc:
                let (agreement, transcripts) = try compareCTC(c, r, inputs: inputs.map(\.name), candidate: candidateBundle,
                                                             reference: referenceBundle)
                report.agreements.append(agreement)
                report.transcripts = transcripts
            case .classification:
                let (ct, rt) = (c[OutputName.logits]!, r[OutputName.logits]!)
                let labels = rt.shape[1]
                let agreeing = (0..<rt.shape[0]).filter { b in
                    let item = (b * labels)..<((b + 1) * labels)
                    return HeadDecoding.argmax(ct.values, in: item) == HeadDecoding.argmax(rt.values, in: item)
                }.count
                report.agreements.append(ArgmaxAgreement(kind: .labels, agreeing: agreeing, total: rt.shape[0]))
            case .frameClassification:
                report.agreements.append(compareFrameLabels(c, r))
            case .pretraining:
                if let base = baseOutputs, reference.config.family.pretrainingQuantizes {
                    let chosen = (try candidate.codevectorIndices(base.candidate), try reference.codevectorIndices(base.reference))
                    report.agreements.append(ArgmaxAgreement(kind: .codevectors, agreeing: zip(chosen.0, chosen.1).filter { $0 == $1 }.count,
                                                             total: chosen.1.count))
                }
            }
        }
        if request.perLayer {
            report.stages = try StageVerifier.compare(candidate: candidate, candidateBatch: candidateBatch, reference: reference,
                                                      referenceBatch: referenceBatch, progress: request.progress)
        }
        request.progress?(.finished)
        report.failures = failures(of: report)
        return report
    }

    /// Cosine, max abs and relative error of two same-shaped outputs over the real frames of [B, T, ...] tensors.
    static func compare(_ candidate: NamedTensor, _ reference: NamedTensor, head: ModelHead, frameLengths: [Int]) -> OutputComparison {
        var sums = ErrorSums()
        func visit(_ range: Range<Int>) { sums.add(candidate.values[range], reference.values[range]) }
        let shape = reference.shape
        if shape.count >= 3, shape[0] == frameLengths.count {
            let frameSize = shape[2...].reduce(1, *)
            for (b, length) in frameLengths.enumerated() {
                let start = b * shape[1] * frameSize
                visit(start..<(start + min(length, shape[1]) * frameSize))
            }
        } else {
            visit(0..<reference.values.count)
        }
        let figures = sums.figures
        return OutputComparison(head: head, name: reference.name, shape: shape, cosine: figures.cosine,
                                maxAbsError: figures.maxAbsError, relativeError: figures.relativeError)
    }

    /// Frame argmax agreement over the real frames and the greedy transcript of each input.
    static func compareCTC(_ candidate: ModelOutput, _ reference: ModelOutput, inputs: [String], candidate candidateBundle: ModelBundle,
                           reference referenceBundle: ModelBundle) throws -> (ArgmaxAgreement, [TranscriptComparison]) {
        let (ct, rt) = (candidate[OutputName.logits]!, reference[OutputName.logits]!)
        let (frames, vocabulary) = (rt.shape[1], rt.shape[2])
        let candidateDecoder = try GreedyCTCDecoder(bundle: candidateBundle)
        let referenceDecoder = try GreedyCTCDecoder(bundle: referenceBundle)
        var agreement = ArgmaxAgreement(kind: .ctcFrames, agreeing: 0, total: 0)
        var transcripts: [TranscriptComparison] = []
        for (b, length) in reference.frameLengths.enumerated() {
            let ids = (0..<min(length, frames)).map { t in
                let row = ((b * frames + t) * vocabulary)..<((b * frames + t + 1) * vocabulary)
                return (HeadDecoding.argmax(ct.values, in: row), HeadDecoding.argmax(rt.values, in: row))
            }
            agreement.total += ids.count
            agreement.agreeing += ids.filter { $0.0 == $0.1 }.count
            transcripts.append(TranscriptComparison(input: inputs[b], candidate: candidateDecoder.decode(ids.map(\.0)),
                                                    reference: referenceDecoder.decode(ids.map(\.1))))
        }
        return (agreement, transcripts)
    }

    /// Per-frame label argmax agreement over the real frames.
    static func compareFrameLabels(_ candidate: ModelOutput, _ reference: ModelOutput) -> ArgmaxAgreement {
        let (ct, rt) = (candidate[OutputName.logits]!, reference[OutputName.logits]!)
        let (frames, labels) = (rt.shape[1], rt.shape[2])
        var agreement = ArgmaxAgreement(kind: .frameLabels, agreeing: 0, total: 0)
        for (b, length) in reference.frameLengths.enumerated() {
            for t in 0..<min(length, frames) {
                let row = ((b * frames + t) * labels)..<((b * frames + t + 1) * labels)
                agreement.total += 1
                if HeadDecoding.argmax(ct.values, in: row) == HeadDecoding.argmax(rt.values, in: row) { agreement.agreeing += 1 }
            }
        }
        return agreement
    }

    /// One sentence per threshold the report misses.
    static func failures(of report: VerifyReport) -> [String] {
        let thresholds = report.thresholds
        var failures: [String] = []
        for output in report.outputs where output.shape.reduce(1, *) > 1 && !(output.cosine >= thresholds.minCosine) {
            failures.append("\(output.head.rawValue) \(output.name): cosine similarity \(format(output.cosine)) is below \(format(thresholds.minCosine))")
        }
        for agreement in report.agreements where agreement.fraction < thresholds.minArgmaxAgreement {
            failures.append("\(agreement.kind.rawValue): argmax agrees on \(agreement.agreeing) of \(agreement.total) (\(format(agreement.fraction))), below \(format(thresholds.minArgmaxAgreement))")
        }
        if let stage = report.firstDivergentStage {
            failures.append("first divergent stage \(stage.name): isolated cosine \(String(format: "%.9g", stage.isolated.cosine)) "
                            + "(minimum \(threshold(thresholds.minStageCosine))), SQNR \(String(format: "%.1f", stage.isolated.sqnr)) dB (minimum "
                            + "\(threshold(thresholds.minStageSQNR)) dB)")
        }
        if thresholds.requireSameTranscripts {
            for transcript in report.transcripts where !transcript.same {
                failures.append("transcript of \(transcript.input) differs: \"\(transcript.candidate)\" vs \"\(transcript.reference)\"")
            }
        }
        return failures
    }

    static func format(_ value: Double) -> String { String(format: "%.6g", value) }

    /// A threshold as given, without rounding or trailing zeros ("0.9999999", "80").
    static func threshold(_ value: Double) -> String { String(format: "%.10g", value) }
}

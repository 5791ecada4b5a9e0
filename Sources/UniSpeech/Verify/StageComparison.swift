import Foundation

/// Cosine similarity, SQNR and errors of a candidate's values against a reference's.
public struct ErrorFigures: Sendable, Equatable {
    public var cosine: Double
    /// 20 log10(|reference| / |candidate - reference|) in dB (norms over the compared values); +inf when equal.
    public var sqnr: Double
    public var maxAbsError: Double
    /// maxAbsError / max |reference|.
    public var relativeError: Double
}

/// Running sums over compared values, from which `ErrorFigures` follow. Positions where both hold the same
/// non-finite value (e.g. the NaN std of an x-vector pooled over one frame) agree and are skipped; a non-finite
/// value against anything else makes every figure non-finite.
struct ErrorSums {
    private var dot = 0.0, candidateSquares = 0.0, referenceSquares = 0.0, errorSquares = 0.0
    private var maxError = 0.0, maxReference = 0.0
    private var mismatched = false

    mutating func add(_ candidate: ArraySlice<Float>, _ reference: ArraySlice<Float>) {
        for (x, y) in zip(candidate, reference) {
            let a = Double(x), b = Double(y)
            guard a.isFinite && b.isFinite else {
                if !(a == b || (a.isNaN && b.isNaN)) { mismatched = true }
                continue
            }
            dot += a * b
            candidateSquares += a * a
            referenceSquares += b * b
            errorSquares += (a - b) * (a - b)
            maxError = max(maxError, abs(a - b))
            maxReference = max(maxReference, abs(b))
        }
    }

    var figures: ErrorFigures {
        guard !mismatched else { return ErrorFigures(cosine: .nan, sqnr: .nan, maxAbsError: .infinity, relativeError: .infinity) }
        let norms = (candidateSquares * referenceSquares).squareRoot()
        let cosine = norms > 0 ? dot / norms : (candidateSquares == referenceSquares ? 1 : 0)
        let sqnr = errorSquares == 0 ? Double.infinity : 10 * log10(referenceSquares / errorSquares)
        return ErrorFigures(cosine: cosine, sqnr: sqnr, maxAbsError: maxError,
                            relativeError: maxReference > 0 ? maxError / maxReference : maxError)
    }
}

/// One stage (transformers' module path) of the candidate against the reference over the real rows: accumulated
/// (the candidate fed its own previous stages) and isolated (its stage fed the reference's input).
public struct StageComparison: Sendable, Equatable {
    /// `.base` for the base model's stages, else the head whose module it is.
    public var head: ModelHead
    public var name: String
    /// [B, T, C] for per-frame outputs, [B, C] for one row per item.
    public var shape: [Int]
    public var accumulated: ErrorFigures
    public var isolated: ErrorFigures

    /// Whether the isolated figures meet `thresholds` (a NaN meets none).
    public func isolatedMeets(_ thresholds: VerifyThresholds) -> Bool {
        isolated.cosine >= thresholds.minStageCosine && isolated.sqnr >= thresholds.minStageSQNR
    }
}

/// A stage output the reference gave, where it sits and its values.
private struct RecordedStage {
    var name: String
    var head: ModelHead
    var items: Range<Int>
    var rows: Int
    var columns: Int
    var realRows: [Int]
    var values: [Float]

    init(_ output: StageOutput) {
        name = output.name
        head = output.head
        items = output.items
        rows = output.values.rows
        columns = output.values.columns
        realRows = output.realRows
        values = output.values.array()
    }
}

/// Records every stage output of the reference's forward pass.
private final class StageRecorder {
    var stages: [RecordedStage] = []

    func observe(_ output: StageOutput) { stages.append(RecordedStage(output)) }
}

/// Compares every stage output of a candidate's forward pass with the reference's, in graph order; when
/// `replacing`, then overwrites it with the reference's so the next stage reads the reference's input.
private final class StageComparer {
    let reference: [RecordedStage]
    let replacing: Bool
    let batch: Int
    private var next = 0
    /// Per stage, in the order first seen: its key, shape and sums.
    private(set) var stages: [(head: ModelHead, name: String, shape: [Int], sums: ErrorSums)] = []

    init(reference: [RecordedStage], replacing: Bool, batch: Int) {
        self.reference = reference
        self.replacing = replacing
        self.batch = batch
    }

    func observe(_ output: StageOutput) throws {
        guard next < reference.count else { throw VerifyError.stagesDiffer(stage: output.name, reference: "no such stage") }
        let recorded = reference[next]
        next += 1
        guard recorded.name == output.name, recorded.head == output.head, recorded.items == output.items,
              recorded.rows == output.values.rows, recorded.columns == output.values.columns else {
            throw VerifyError.stagesDiffer(stage: "\(output.name) [\(output.values.rows), \(output.values.columns)]",
                                           reference: "\(recorded.name) [\(recorded.rows), \(recorded.columns)]")
        }
        let values = output.values.array()  // [rows, C]
        let rowsPerItem = output.rowsPerItem, width = rowsPerItem * recorded.columns
        let index = stages.firstIndex { $0.head == recorded.head && $0.name == recorded.name } ?? {
            let perItem = rowsPerItem == 1 && recorded.realRows.allSatisfy { $0 == 1 }
            stages.append((recorded.head, recorded.name,
                           perItem ? [batch, recorded.columns] : [batch, rowsPerItem, recorded.columns], ErrorSums()))
            return stages.count - 1
        }()
        for (position, real) in recorded.realRows.enumerated() {
            let start = position * width, end = start + min(real, rowsPerItem) * recorded.columns
            stages[index].sums.add(values[start..<end], recorded.values[start..<end])
        }
        if replacing { output.values.copy(from: recorded.values) }
    }

    /// Throws unless the candidate's pass reported every stage the reference's did.
    func checkFinished() throws {
        if next < reference.count { throw VerifyError.stagesDiffer(stage: "no such stage", reference: reference[next].name) }
    }
}

/// `verify --per-layer`: the stages of both models on the same inputs.
enum StageVerifier {
    /// Heads whose passes cover every stage: each head besides base (base's stages come with any of them), or base.
    static func headsToRun(_ available: [ModelHead]) -> [ModelHead] {
        let heads = available.filter { $0 != .base }
        return heads.isEmpty ? [.base] : heads
    }

    /// Every stage of every head, accumulated and isolated; a stage of the base model is taken from the first head's
    /// passes. Three forward passes per head: the reference recorded, the candidate alone, the candidate fed the
    /// reference's stage outputs.
    static func compare(candidate: UniSpeechModel, candidateBatch: InputBatch, reference: UniSpeechModel,
                        referenceBatch: InputBatch, progress: ProgressHandler?) throws -> [StageComparison] {
        var comparisons: [StageComparison] = []
        let heads = headsToRun(reference.availableHeads)
        for (index, head) in heads.enumerated() {
            progress?(.step("[\(index + 1)/\(heads.count)] per-layer passes of the \(head.rawValue) head"))
            let recorder = StageRecorder()
            _ = try reference.run(referenceBatch, head: head, observer: recorder.observe)
            let accumulated = StageComparer(reference: recorder.stages, replacing: false, batch: referenceBatch.batchSize)
            _ = try candidate.run(candidateBatch, head: head, observer: accumulated.observe)
            let isolated = StageComparer(reference: recorder.stages, replacing: true, batch: referenceBatch.batchSize)
            _ = try candidate.run(candidateBatch, head: head, observer: isolated.observe)
            try accumulated.checkFinished()
            for (stage, alone) in zip(accumulated.stages, isolated.stages)
            where !comparisons.contains(where: { $0.head == stage.head && $0.name == stage.name }) {
                comparisons.append(StageComparison(head: stage.head, name: stage.name, shape: stage.shape,
                                                   accumulated: stage.sums.figures, isolated: alone.sums.figures))
            }
        }
        return comparisons
    }
}

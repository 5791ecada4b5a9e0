import Foundation

extension VerifyReport {
    /// Characters of a transcript shown in the text report (JSON has them whole).
    static let transcriptWidth = 72

    /// The report as JSON (schemas/verify-report.schema.json).
    public var json: JSONValue {
        func number(_ value: Double) -> JSONValue { value.isFinite ? .double(value) : .null }
        func figures(_ figures: ErrorFigures) -> JSONValue {
            .object([("cosine", number(figures.cosine)), ("sqnr_db", number(figures.sqnr)),
                     ("max_abs_error", number(figures.maxAbsError)), ("relative_error", number(figures.relativeError))])
        }
        var members: [(key: String, value: JSONValue)] = [
            ("passed", .bool(passed)),
            ("candidate", .string(candidatePath)),
            ("reference", .string(referencePath)),
            ("candidate_weight_format", .string(candidateFormat.rawValue)),
            ("inputs", .array(inputs.map { .object([("name", .string($0.name)), ("samples", .int(Int64($0.samples)))]) })),
            ("thresholds", .object([
                ("min_cosine", .double(thresholds.minCosine)),
                ("min_argmax_agreement", .double(thresholds.minArgmaxAgreement)),
                ("require_same_transcripts", .bool(thresholds.requireSameTranscripts)),
                ("min_stage_cosine", .double(thresholds.minStageCosine)),
                ("min_stage_sqnr_db", .double(thresholds.minStageSQNR)),
            ])),
            ("outputs", .array(outputs.map { output in
                .object([
                    ("head", .string(output.head.rawValue)),
                    ("name", .string(output.name)),
                    ("shape", .array(output.shape.map { .int(Int64($0)) })),
                    ("cosine", number(output.cosine)),
                    ("max_abs_error", number(output.maxAbsError)),
                    ("relative_error", number(output.relativeError)),
                ])
            })),
            ("agreements", .array(agreements.map { agreement in
                .object([
                    ("kind", .string(agreement.kind.rawValue)),
                    ("agreeing", .int(Int64(agreement.agreeing))),
                    ("total", .int(Int64(agreement.total))),
                    ("fraction", .double(agreement.fraction)),
                ])
            })),
            ("transcripts", .array(transcripts.map { transcript in
                .object([
                    ("input", .string(transcript.input)),
                    ("candidate", .string(transcript.candidate)),
                    ("reference", .string(transcript.reference)),
                    ("same", .bool(transcript.same)),
                ])
            })),
            ("failures", .array(failures.map { .string($0) })),
        ]
        if let stages {
            members.append(("stages", .array(stages.map { stage in
                .object([
                    ("head", .string(stage.head.rawValue)),
                    ("name", .string(stage.name)),
                    ("shape", .array(stage.shape.map { .int(Int64($0)) })),
                    ("accumulated", figures(stage.accumulated)),
                    ("isolated", figures(stage.isolated)),
                    ("isolated_meets_thresholds", .bool(stage.isolatedMeets(thresholds))),
                ])
            })))
            members.append(("first_divergent_stage", firstDivergentStage.map { .string($0.name) } ?? .null))
        }
        return .object(members)
    }

    /// A stage's name in the reports: its module path, with its head when the report holds stages of several heads.
    func stageLabel(_ stage: StageComparison) -> String {
        let heads = Set((stages ?? []).map(\.head).filter { $0 != .base })
        return heads.count > 1 && stage.head != .base ? "\(stage.head.rawValue) \(stage.name)" : stage.name
    }

    /// The stage table for people: accumulated and isolated figures of each stage, the first divergent one marked.
    var stageLines: [String] {
        guard let stages else { return [] }
        let labels = stages.map(stageLabel)
        let nameWidth = max(5, labels.map(\.count).max() ?? 0)
        let shapes = stages.map { "[" + $0.shape.map(String.init).joined(separator: ", ") + "]" }
        let shapeWidth = max(5, shapes.map(\.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        let widths = [8, 7, 8, 8]
        func row(_ cells: [String]) -> String { zip(cells, widths).map { right($0, $1) }.joined(separator: "  ") }
        func columns(_ figures: ErrorFigures) -> String {
            row([String(format: "%.6f", figures.cosine), Self.decibels(figures.sqnr), String(format: "%.2e", figures.maxAbsError),
                 String(format: "%.2e", figures.relativeError)])
        }
        let figureHeader = row(["cosine", "SQNR dB", "max abs", "rel err"])
        var lines = ["per-layer: accumulated = the candidate fed its own stages; isolated = each stage fed the reference's input",
                     pad("", nameWidth + shapeWidth + 4) + pad("accumulated", figureHeader.count) + "    isolated",
                     pad("stage", nameWidth) + "  " + pad("shape", shapeWidth) + "  " + figureHeader + "    " + figureHeader]
        let first = firstDivergentStage
        for (index, stage) in stages.enumerated() {
            let mark = stage == first ? "  <- first divergent" : stage.isolatedMeets(thresholds) ? "" : "  x"
            lines.append(pad(labels[index], nameWidth) + "  " + pad(shapes[index], shapeWidth) + "  " + columns(stage.accumulated)
                         + "    " + columns(stage.isolated) + mark)
        }
        lines.append("stage thresholds (isolated): cosine >= \(ModelVerifier.threshold(thresholds.minStageCosine)), SQNR >= \(ModelVerifier.threshold(thresholds.minStageSQNR)) dB; "
                     + "first divergent stage: \(first.map(stageLabel) ?? "none")")
        return lines
    }

    /// SQNR in dB for people: one decimal, "inf" when the outputs are equal.
    static func decibels(_ value: Double) -> String {
        value == .infinity ? "inf" : value.isNaN ? "nan" : String(format: "%.1f", value)
    }

    /// The report for people: one line per output and agreement, the transcripts, then the verdict.
    public var text: String {
        func format(_ value: Double) -> String { String(format: "%.6g", value) }
        var lines = ["candidate \(candidatePath) (\(candidateFormat.rawValue)) against reference \(referencePath)",
                     "inputs: " + inputs.map { "\($0.name) (\($0.samples) samples)" }.joined(separator: ", ")]
        let width = max(6, outputs.map { "\($0.head.rawValue) \($0.name)".count }.max() ?? 0)
        lines.append("output".padding(toLength: width, withPad: " ", startingAt: 0) + "  cosine        max abs err   rel err")
        for output in outputs {
            lines.append("\(output.head.rawValue) \(output.name)".padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                         + format(output.cosine).padding(toLength: 12, withPad: " ", startingAt: 0) + "  "
                         + String(format: "%.3e", output.maxAbsError).padding(toLength: 12, withPad: " ", startingAt: 0) + "  "
                         + String(format: "%.3e", output.relativeError))
        }
        for agreement in agreements {
            lines.append("\(agreement.kind.rawValue) argmax agreement: \(agreement.agreeing)/\(agreement.total) (\(format(agreement.fraction)))")
        }
        func shortened(_ text: String) -> String {
            text.count <= Self.transcriptWidth ? text : String(text.prefix(Self.transcriptWidth)) + "..."
        }
        for transcript in transcripts {
            lines.append("transcript \(transcript.input): \(transcript.same ? "same" : "differs"): \"\(shortened(transcript.candidate))\""
                         + (transcript.same ? "" : " vs \"\(shortened(transcript.reference))\""))
        }
        lines.append(contentsOf: stageLines)
        lines.append(contentsOf: failures.map { "FAIL: \($0)" })
        lines.append(passed ? "PASS" : "FAIL (\(failures.count) check\(failures.count == 1 ? "" : "s") missed)")
        return lines.joined(separator: "\n")
    }
}

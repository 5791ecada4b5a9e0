import Foundation

extension VerifyReport {
    /// Characters of a transcript shown in the text report (JSON has them whole).
    static let transcriptWidth = 72

    /// The report as JSON (schemas/verify-report.schema.json).
    public var json: JSONValue {
        func number(_ value: Double) -> JSONValue { value.isFinite ? .double(value) : .null }
        return .object([
            ("passed", .bool(passed)),
            ("candidate", .string(candidatePath)),
            ("reference", .string(referencePath)),
            ("candidate_weight_format", .string(candidateFormat.rawValue)),
            ("inputs", .array(inputs.map { .object([("name", .string($0.name)), ("samples", .int(Int64($0.samples)))]) })),
            ("thresholds", .object([
                ("min_cosine", .double(thresholds.minCosine)),
                ("min_argmax_agreement", .double(thresholds.minArgmaxAgreement)),
                ("require_same_transcripts", .bool(thresholds.requireSameTranscripts)),
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
        ])
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
        lines.append(contentsOf: failures.map { "FAIL: \($0)" })
        lines.append(passed ? "PASS" : "FAIL (\(failures.count) check\(failures.count == 1 ? "" : "s") missed)")
        return lines.joined(separator: "\n")
    }
}

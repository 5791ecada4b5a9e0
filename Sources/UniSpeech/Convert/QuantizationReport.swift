import Foundation

extension ConversionResult {
    /// A table of every quantised tensor's error, then one summary line; for people.
    public var text: String {
        var lines: [String] = []
        if !reports.isEmpty {
            let nameWidth = max(6, reports.map(\.name.count).max() ?? 0)
            let shapeWidth = max(5, reports.map { "\($0.shape)".count }.max() ?? 0)
            func row(_ columns: [String]) -> String {
                columns[0].padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                    + columns[1].padding(toLength: 6, withPad: " ", startingAt: 0) + "  "
                    + columns[2].padding(toLength: shapeWidth, withPad: " ", startingAt: 0) + "  "
                    + columns[3].padding(toLength: 11, withPad: " ", startingAt: 0) + "  " + columns[4]
            }
            lines.append(row(["tensor", "stored", "shape", "max abs err", "rel err"]))
            for report in reports {
                lines.append(row([report.name, report.storage.rawValue, "\(report.shape)",
                                  String(format: "%.3e", report.maxAbsError), String(format: "%.3e", report.relativeError)]))
            }
        }
        let megabytes = String(format: "%.2f MB", Double(fileSize) / 1_000_000)
        var summary = "wrote \(path) (\(header.weightFormat.rawValue), \(header.tensors.count) tensors, \(megabytes))"
        if let worst = reports.max(by: { $0.relativeError < $1.relativeError }) {
            summary += "; \(reports.count) quantised, worst relative error \(String(format: "%.3e", worst.relativeError)) in \(worst.name)"
        }
        lines.append(summary)
        return lines.joined(separator: "\n")
    }
}

extension ConversionResult {
    /// The result for programs (schemas/convert-output.schema.json): what was written and each quantised tensor's error.
    public var json: JSONValue {
        .object([
            ("path", .string(path)),
            ("weight_format", .string(header.weightFormat.rawValue)),
            ("architecture", .string(header.architecture)),
            ("tensor_count", .int(Int64(header.tensors.count))),
            ("file_bytes", .int(Int64(fileSize))),
            ("quantized", .array(reports.map { report in
                .object([("name", .string(report.name)), ("storage", .string(report.storage.rawValue)),
                         ("shape", .array(report.shape.map { .int(Int64($0)) })),
                         ("max_abs_error", .double(Double(report.maxAbsError))), ("relative_error", .double(report.relativeError))])
            })),
        ])
    }
}

import Foundation

extension Inspector {
    /// Reads a .unispeech file for inspect: header facts as extras, tensors as stored (i8 weights and their
    /// `.scale` tensors included); with `checkChecksums` every tensor's crc32 is recomputed first and
    /// tensors holding NaN or Inf are noted.
    static func openNative(path: String, checkChecksums: Bool) throws -> InspectedModel {
        let reader = try NativeReader(path: path)
        if checkChecksums { try reader.checkChecksums() }
        let header = reader.header
        var extras: [(key: String, value: JSONValue)] = [
            ("format_version", .int(Int64(header.formatVersion))),
            ("producer", .string(header.producer)),
            ("weight_format", .string(header.weightFormat.rawValue)),
            ("checksums", .string(checkChecksums ? "verified (crc32 of every tensor)" : "not checked (use --check)")),
            ("tokenizer_files", .array(header.sidecars.present.filter { $0 != .preprocessorConfig }.map { .string($0.rawValue) })),
        ]
        if let language = header.targetLanguage { extras.append(("target_lang", .string(language))) }
        if let scales = try scaleSummary(reader) { extras.append(("int8_scales", scales)) }
        extras.append(("source", .string(sourceSummary(header.source))))
        return InspectedModel(path: path, format: NativeFormat.fileExtension, files: [URL(fileURLWithPath: path).lastPathComponent],
                              config: try UniSpeechConfig(json: header.config, source: path + " (config)"), tensors: reader.tensors, extras: extras,
                              notes: checkChecksums ? try nonFiniteNotes(reader) : [])
    }

    /// Count of i8 weights and the range of their per-output-channel scales; nil when there are none.
    private static func scaleSummary(_ reader: NativeReader) throws -> JSONValue? {
        let quantized = reader.header.tensors.compactMap(\.scaleTensor)
        guard !quantized.isEmpty else { return nil }
        var smallest = Float.infinity, largest: Float = 0, sum = 0.0, count = 0
        for name in quantized {
            for scale in try reader.floats(name) {
                smallest = min(smallest, scale)
                largest = max(largest, scale)
                sum += Double(scale)
                count += 1
            }
        }
        return .object([
            ("weights", .int(Int64(quantized.count))),
            ("channels", .int(Int64(count))),
            ("min", rounded(Double(smallest))),
            ("mean", rounded(count > 0 ? sum / Double(count) : 0)),
            ("max", rounded(Double(largest))),
        ])
    }

    /// Four significant digits, enough to read a scale range.
    private static func rounded(_ value: Double) -> JSONValue { .double(Double(String(format: "%.4g", value)) ?? value) }

    /// "huggingface ctc: config.json, model.safetensors", following `derived_from` links.
    private static func sourceSummary(_ source: JSONValue) -> String {
        let files = source["files"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        var text = [source["kind"]?.stringValue, source["directory"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        text += ": " + files.joined(separator: ", ")
        if let original = source["derived_from"] { text += " <- " + sourceSummary(original) }
        return text
    }
}

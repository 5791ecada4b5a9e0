import Foundation

/// What inspect knows about one model source: its format, config when known, tensors as stored and
/// format-specific facts. Every source inspect reads (HF directory, weight file, native file) builds one.
public struct InspectedModel: Sendable {
    /// The path as given.
    public var path: String
    /// Storage format: a `WeightLayout` raw value, or another reader's name (e.g. "unispeech").
    public var format: String
    /// Files read, relative to `path` when it is a directory.
    public var files: [String]
    public var config: UniSpeechConfig?
    /// Tensors with the names they are stored under.
    public var tensors: [TensorInfo]
    /// Facts only this format has (native header fields, safetensors metadata, sidecar files ...).
    public var extras: [(key: String, value: JSONValue)]
    /// Remarks for the reader, such as a missing config.
    public var notes: [String]

    public init(path: String, format: String, files: [String], config: UniSpeechConfig?, tensors: [TensorInfo],
                extras: [(key: String, value: JSONValue)] = [], notes: [String] = []) {
        self.path = path
        self.format = format
        self.files = files
        self.config = config
        self.tensors = tensors
        self.extras = extras
        self.notes = notes
    }
}

/// Opens whatever `unispeech inspect` is pointed at.
public enum Inspector {
    /// Reads a HF directory, a single weight file or a .unispeech file; tensor bytes are not touched
    /// unless `checkChecksums` asks for a native file's crc32 check.
    public static func open(path: String, checkChecksums: Bool = false) throws -> InspectedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: path)
        }
        if !isDirectory.boolValue && NativeFormat.isNativePath(path) {
            return try openNative(path: path, checkChecksums: checkChecksums)
        }
        return isDirectory.boolValue ? try openDirectory(path) : try openWeightFile(path)
    }

    private static func openDirectory(_ directory: String) throws -> InspectedModel {
        let configPath = directory + "/" + HFCheckpoint.configFile
        let hasConfig = FileManager.default.fileExists(atPath: configPath)
        let config = hasConfig ? try UniSpeechConfig(json: try HFCheckpoint.readConfig(configPath), source: configPath) : nil
        let stored = try StoredWeights.open(directory: directory)
        let sidecars = ModelSidecars.File.allCases.map(\.rawValue).filter { FileManager.default.fileExists(atPath: directory + "/" + $0) }
        var extras: [(key: String, value: JSONValue)] = [("sidecar_files", .array(sidecars.map { .string($0) }))]
        extras += metadataExtras(stored.source)
        return InspectedModel(
            path: directory, format: stored.layout.rawValue, files: (hasConfig ? [HFCheckpoint.configFile] : []) + stored.files,
            config: config, tensors: stored.source.tensors, extras: extras,
            notes: (hasConfig ? [] : ["no config.json in the directory: architecture inferred from tensor names"])
                + (try nonFiniteNotes(stored.source)))
    }

    private static func openWeightFile(_ path: String) throws -> InspectedModel {
        let stored = try StoredWeights.open(file: path)
        return InspectedModel(
            path: path, format: stored.layout.rawValue, files: stored.files, config: nil, tensors: stored.source.tensors,
            extras: metadataExtras(stored.source),
            notes: ["a single weight file carries no config: architecture inferred from tensor names; inspect the directory for the config"]
                + (try nonFiniteNotes(stored.source)))
    }

    /// One note per tensor holding NaN or Inf (reading every tensor, which also checks zip CRCs).
    static func nonFiniteNotes(_ source: any TensorSource) throws -> [String] {
        try FiniteCheck.scan(source).map { "non-finite values in tensor \($0.summary)" }
    }

    private static func metadataExtras(_ source: any TensorSource) -> [(key: String, value: JSONValue)] {
        guard let reader = source as? SafetensorsReader, !reader.metadata.isEmpty else { return [] }
        return [("safetensors_metadata", .object(reader.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]
    }
}

/// The inspect summary: architecture, heads, key config values, counts, sizes by dtype and tensors.
public struct InspectReport: Sendable {
    public let model: InspectedModel
    /// The transformers class, nil when neither the config nor the tensor names tell it.
    public let architecture: String?
    /// "config" when config.json names the architecture, "tensors" when inferred from names, "none".
    public let architectureSource: String
    /// The family: config.json's `model_type`, else the base-model prefix of the tensor names; nil when neither tells.
    public let family: ModelFamily?
    public let heads: [ModelHead]
    /// Key config values by HF field name (empty without a config).
    public let configSummary: [(key: String, value: JSONValue)]
    /// Sum of element counts over every stored tensor.
    public let parameterCount: Int
    public let totalBytes: Int
    /// Bytes per stored dtype, largest first.
    public let bytesByDType: [(dtype: DType, bytes: Int)]

    /// Summarises `model` from its metadata alone.
    public init(_ model: InspectedModel) {
        self.model = model
        let family = model.config?.family ?? ModelFamily.owning(tensorNames: model.tensors.map(\.name))
        self.family = family
        let heads = ModelHead.present(in: model.tensors.map { name in
            family.map { KeyMap.canonicalName(name.name, family: $0) } ?? name.name
        })
        self.heads = heads
        if let named = model.config?.architectures.first {
            architecture = named
            architectureSource = "config"
        } else if let family, let head = heads.last {
            architecture = family.architecture(of: head)
            architectureSource = "tensors"
        } else {
            architecture = nil
            architectureSource = "none"
        }
        configSummary = model.config.map { Self.summary(of: $0, heads: heads) } ?? []
        parameterCount = model.tensors.reduce(0) { $0 + $1.elementCount }
        totalBytes = model.tensors.reduce(0) { $0 + $1.byteCount }
        var bytes: [DType: Int] = [:]
        for tensor in model.tensors { bytes[tensor.dtype, default: 0] += tensor.byteCount }
        bytesByDType = bytes.map { ($0.key, $0.value) }.sorted { ($0.bytes, $0.dtype.rawValue) > ($1.bytes, $1.dtype.rawValue) }
    }

    private static func summary(of config: UniSpeechConfig, heads: [ModelHead]) -> [(key: String, value: JSONValue)] {
        func ints(_ values: [Int]) -> JSONValue { .array(values.map { .int(Int64($0)) }) }
        typealias Key = UniSpeechConfig.Key
        var items: [(key: String, value: JSONValue)] = [
            (Key.hiddenSize, .int(Int64(config.hiddenSize))),
            (Key.numHiddenLayers, .int(Int64(config.numHiddenLayers))),
            (Key.numAttentionHeads, .int(Int64(config.numAttentionHeads))),
            (Key.intermediateSize, .int(Int64(config.intermediateSize))),
            (Key.hiddenAct, .string(config.hiddenAct)),
            (Key.convDim, ints(config.convDim)),
            (Key.convStride, ints(config.convStride)),
            (Key.convKernel, ints(config.convKernel)),
            (Key.featExtractNorm, .string(config.featExtractNorm)),
            (Key.doStableLayerNorm, .bool(config.doStableLayerNorm)),
            (Key.numConvPosEmbeddings, .int(Int64(config.numConvPosEmbeddings))),
            (Key.numConvPosEmbeddingGroups, .int(Int64(config.numConvPosEmbeddingGroups))),
        ]
        switch config.family {
        case .hubert:
            items.append((Key.featProjLayerNorm, .bool(config.featProjLayerNorm)))
            items.append((Key.convPosBatchNorm, .bool(config.convPosBatchNorm)))
        case .wavlm:
            items.append((Key.numBuckets, .int(Int64(config.numBuckets))))
            items.append((Key.maxBucketDistance, .int(Int64(config.maxBucketDistance))))
        case .data2vecAudio:
            items.append((Key.convPosKernelSize, .int(Int64(config.convPosKernelSize))))
        case .unispeech, .wav2vec2, .unispeechSat:
            break
        }
        if config.hasConvAdapter {
            items.append((Key.addAdapter, .bool(true)))
            items.append((Key.numAdapterLayers, .int(Int64(config.numAdapterLayers))))
            items.append((Key.outputHiddenSize, .int(Int64(config.adapterOutputSize))))
        }
        if config.hasAttentionAdapters, let dimension = config.adapterAttnDim {
            items.append((Key.adapterAttnDim, .int(Int64(dimension))))
        }
        if heads.contains(.ctc) { items.append((Key.vocabSize, .int(Int64(config.vocabSize)))) }
        if heads.contains(.classification) || heads.contains(.frameClassification) {
            items.append((Key.numLabels, .int(Int64(config.numLabels))))
        }
        if !Set(heads).isDisjoint(with: [ModelHead.classification, .frameClassification, .xvector]) {
            items.append((Key.useWeightedLayerSum, .bool(config.useWeightedLayerSum)))
        }
        if heads.contains(.xvector) {
            items.append((Key.tdnnDim, ints(config.tdnnDim)))
            items.append((Key.xvectorOutputDim, .int(Int64(config.xvectorOutputDim))))
        }
        if heads.contains(.pretraining) && config.family.pretrainingQuantizes {
            items.append((Key.numCodevectorGroups, .int(Int64(config.numCodevectorGroups))))
            items.append((Key.numCodevectorsPerGroup, .int(Int64(config.numCodevectorsPerGroup))))
        }
        return items
    }

    /// The report for programs (schemas/inspect.schema.json); it always lists every tensor.
    public func json() -> JSONValue {
        .object([
            ("path", .string(model.path)),
            ("format", .string(model.format)),
            ("files", .array(model.files.map { .string($0) })),
            ("architecture", architecture.map { .string($0) } ?? .null),
            ("architecture_source", .string(architectureSource)),
            ("model_type", family.map { .string($0.rawValue) } ?? .null),
            ("heads", .array(heads.map { .string($0.rawValue) })),
            ("config", model.config == nil ? .null : .object(configSummary)),
            ("parameter_count", .int(Int64(parameterCount))),
            ("tensor_count", .int(Int64(model.tensors.count))),
            ("total_bytes", .int(Int64(totalBytes))),
            ("bytes_by_dtype", .object(bytesByDType.map { ($0.dtype.shortName, .int(Int64($0.bytes))) })),
            ("tensors", .array(model.tensors.map { tensor in
                .object([
                    ("name", .string(tensor.name)),
                    ("dtype", .string(tensor.dtype.shortName)),
                    ("shape", .array(tensor.shape.map { .int(Int64($0)) })),
                    ("bytes", .int(Int64(tensor.byteCount))),
                ])
            })),
            ("extras", .object(model.extras)),
            ("notes", .array(model.notes.map { .string($0) })),
        ])
    }

    /// The report for people: aligned key-value lines, and with `includeTensors` a tensor table.
    public func text(includeTensors: Bool) -> String {
        var rows: [(String, String)] = [
            ("path", model.path),
            ("format", "\(model.format) (\(model.files.joined(separator: ", ")))"),
            ("architecture", architecture.map { "\($0) (from \(architectureSource == "config" ? "config.json" : "tensor names"))" }
                ?? "unknown (no config and no family's tensor names)"),
            ("model_type", family?.rawValue ?? "unknown"),
            ("heads", heads.isEmpty ? "none" : heads.map(\.rawValue).joined(separator: ", ")),
        ]
        rows += configSummary.map { ($0.key, Self.plain($0.value)) }
        rows.append(("parameters", Self.grouped(parameterCount)))
        rows.append(("tensors", Self.grouped(model.tensors.count)))
        rows.append(("size", Self.size(totalBytes)))
        for (dtype, bytes) in bytesByDType {
            let share = totalBytes > 0 ? Double(bytes) / Double(totalBytes) * 100 : 0
            rows.append(("  \(dtype.shortName)", "\(Self.size(bytes)), \(String(format: "%.1f", share))%"))
        }
        rows += model.extras.map { ($0.key, Self.plain($0.value)) }
        rows += model.notes.map { ("note", $0) }
        let width = rows.map(\.0.count).max() ?? 0
        var lines = rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
        if includeTensors {
            let table = [("name", "dtype", "shape", "bytes")] + model.tensors.map {
                ($0.name, $0.dtype.shortName, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", Self.grouped($0.byteCount))
            }
            let widths = (table.map(\.0.count).max()!, table.map(\.1.count).max()!, table.map(\.2.count).max()!, table.map(\.3.count).max()!)
            lines.append("")
            for row in table {
                let name = row.0.padding(toLength: widths.0, withPad: " ", startingAt: 0)
                let dtype = row.1.padding(toLength: widths.1, withPad: " ", startingAt: 0)
                let shape = row.2.padding(toLength: widths.2, withPad: " ", startingAt: 0)
                let bytes = String(repeating: " ", count: widths.3 - row.3.count) + row.3
                lines.append("\(name)  \(dtype)  \(shape)  \(bytes)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func plain(_ value: JSONValue) -> String {
        switch value {
        case let .string(text): return text
        case let .array(items): return items.isEmpty ? "none" : items.map(plain).joined(separator: ", ")
        case let .object(members): return members.map { "\($0.key)=\(plain($0.value))" }.joined(separator: ", ")
        default: return value.serialized()
        }
    }

    /// 1234567 -> "1,234,567".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// Bytes with a binary unit: "21.9 KiB (22,464 bytes)".
    static func size(_ bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = "bytes"
        for next in units where value >= 1024 {
            value /= 1024
            unit = next
        }
        return unit == "bytes" ? "\(grouped(bytes)) bytes" : String(format: "%.1f %@ (%@ bytes)", value, unit, grouped(bytes))
    }
}

import Foundation
import UniSpeechCore
import UniSpeechKernels

/// Layout constants of the `.unispeech` native format (docs/FORMAT.md).
public enum NativeFormat {
    /// The first eight bytes of every native file.
    public static let magic: [UInt8] = Array("UNISPCH".utf8) + [0]
    /// The format version this build writes and the newest it reads.
    public static let version: UInt32 = 1
    /// Alignment of the data section and of every tensor in it.
    public static let alignment = 64
    /// Magic (8) + format version (4) + CRC-32 of the header JSON (4) + header length (8).
    public static let prefixLength = 24
    /// Where the prefix holds the CRC-32 of the header JSON.
    static let headerChecksumOffset = 12
    /// The largest header accepted.
    public static let maxHeaderLength: UInt64 = 100_000_000
    /// File name extension of native files.
    public static let fileExtension = "unispeech"
    /// The producer string written into headers.
    public static let producer = "unispeech-swift"
    /// Dtypes a native file may store.
    public static let storedDTypes: [DType] = [.f32, .f16, .i8]

    /// True when `path` names a native file by its extension.
    public static func isNativePath(_ path: String) -> Bool {
        URL(fileURLWithPath: path).pathExtension.lowercased() == fileExtension
    }

    /// `value` rounded up to the next multiple of `alignment`.
    static func aligned(_ value: Int) -> Int { (value + alignment - 1) / alignment * alignment }
}

/// Why a native file was rejected or could not be written.
public enum NativeFormatError: LocalizedError, Equatable {
    case notNative(path: String)
    case newerVersion(path: String, version: UInt32)
    case truncated(path: String, reason: String)
    case badHeader(path: String, reason: String)
    case badTensor(path: String, name: String, reason: String)
    case overlap(path: String, first: String, second: String)
    case checksumMismatch(path: String, name: String, expected: String, found: String)
    case unsupportedDType(source: String, name: String, dtype: DType)

    public var errorDescription: String? {
        switch self {
        case let .notNative(path):
            return "\(path): not a .unispeech file (the first 8 bytes are not the magic 'UNISPCH\\0')"
        case let .newerVersion(path, version):
            return "\(path): format version \(version) is newer than this build reads (up to \(NativeFormat.version)); update unispeech"
        case let .truncated(path, reason): return "\(path): truncated .unispeech file (\(reason))"
        case let .badHeader(path, reason): return "\(path): invalid .unispeech header: \(reason)"
        case let .badTensor(path, name, reason): return "\(path): tensor '\(name)': \(reason)"
        case let .overlap(path, first, second): return "\(path): tensors '\(first)' and '\(second)' overlap"
        case let .checksumMismatch(path, name, expected, found):
            return "\(path): tensor '\(name)' is damaged (crc32 \(found), header says \(expected))"
        case let .unsupportedDType(source, name, dtype):
            return "\(source): tensor '\(name)' has dtype \(dtype.rawValue); a .unispeech file stores floating-point weights only"
        }
    }
}

/// One row of the header's tensor table.
public struct NativeTensorEntry: Sendable, Equatable {
    public var info: TensorInfo
    /// Byte offset from the start of the data section (a multiple of `NativeFormat.alignment`).
    public var offset: Int
    public var byteCount: Int
    public var crc32: UInt32
    /// For i8 tensors: the name of the f32 tensor with one scale per output channel.
    public var scaleTensor: String?
}

/// Everything a native file says about its model besides the tensor data.
public struct NativeHeader: Sendable {
    public var formatVersion = Int(NativeFormat.version)
    public var producer = NativeFormat.producer
    /// The HF class name, e.g. "UniSpeechForCTC".
    public var architecture: String
    /// config.json's `model_type` (the family), e.g. "wav2vec2"; nil in files written before it was recorded.
    public var modelType: String?
    /// The MMS language whose adapter is built into the weights (convert --target-lang), else nil.
    public var targetLanguage: String?
    /// How the weights were stored: f32, f16 or int8 (see `QuantizationRule`).
    public var weightFormat: WeightFormat
    /// config.json as read, unchanged.
    public var config: JSONValue
    /// preprocessor_config.json, vocab.json, tokenizer_config.json, special_tokens_map.json as read.
    public var sidecars: ModelSidecars
    /// Where the weights came from: kind, file names with sizes and sha256, and the source's own source.
    public var source: JSONValue
    public var tensors: [NativeTensorEntry] = []

    public init(architecture: String, weightFormat: WeightFormat, config: JSONValue, sidecars: ModelSidecars, source: JSONValue) {
        self.architecture = architecture
        self.weightFormat = weightFormat
        self.config = config
        self.sidecars = sidecars
        self.source = source
    }

    /// Header key names, each written and read here only.
    enum Key {
        static let formatVersion = "format_version", producer = "producer", architecture = "architecture"
        static let modelType = "model_type", targetLanguage = "target_lang"
        static let weightFormat = "weight_format", config = "config", preprocessorConfig = "preprocessor_config"
        static let tokenizer = "tokenizer", vocabulary = "vocab", tokenizerConfig = "tokenizer_config"
        static let specialTokens = "special_tokens_map", source = "source", tensors = "tensors"
        static let name = "name", dtype = "dtype", shape = "shape", offset = "offset", bytes = "bytes"
        static let crc32 = "crc32", scale = "scale"
        /// The tokenizer sidecars under the header's `tokenizer` object.
        static let tokenizerFiles: [(file: ModelSidecars.File, key: String)] = [
            (.vocabulary, vocabulary), (.tokenizerConfig, tokenizerConfig), (.specialTokens, specialTokens),
        ]
    }

    /// The header as JSON, in the documented key order.
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            (Key.formatVersion, .int(Int64(formatVersion))),
            (Key.producer, .string(producer)),
            (Key.architecture, .string(architecture)),
        ]
        if let modelType { members.append((Key.modelType, .string(modelType))) }
        if let targetLanguage { members.append((Key.targetLanguage, .string(targetLanguage))) }
        members += [(Key.weightFormat, .string(weightFormat.rawValue)), (Key.config, config)]
        if let preprocessorConfig = sidecars.preprocessorConfig { members.append((Key.preprocessorConfig, preprocessorConfig)) }
        let tokenizer = Key.tokenizerFiles.compactMap { file, key in sidecars[file].map { (key: key, value: $0) } }
        if !tokenizer.isEmpty { members.append((Key.tokenizer, .object(tokenizer))) }
        members.append((Key.source, source))
        members.append((Key.tensors, .array(tensors.map { entry in
            var row: [(key: String, value: JSONValue)] = [
                (Key.name, .string(entry.info.name)),
                (Key.dtype, .string(entry.info.dtype.shortName)),
                (Key.shape, .array(entry.info.shape.map { .int(Int64($0)) })),
                (Key.offset, .int(Int64(entry.offset))),
                (Key.bytes, .int(Int64(entry.byteCount))),
                (Key.crc32, .string(CRC32.hex(entry.crc32))),
            ]
            if let scale = entry.scaleTensor { row.append((Key.scale, .string(scale))) }
            return .object(row)
        })))
        return .object(members)
    }

    /// Reads a header; `path` names the file in errors. Checks types and each row on its own;
    /// the layout checks against the file live in `NativeReader`.
    public init(json: JSONValue, path: String) throws {
        func bad(_ reason: String) -> NativeFormatError { .badHeader(path: path, reason: reason) }
        guard json.objectMembers != nil else { throw bad("not a JSON object") }
        guard let version = json[Key.formatVersion]?.intValue else { throw bad("'\(Key.formatVersion)' is missing") }
        guard let architecture = json[Key.architecture]?.stringValue else { throw bad("'\(Key.architecture)' is missing") }
        guard let formatName = json[Key.weightFormat]?.stringValue, let weightFormat = WeightFormat(rawValue: formatName) else {
            throw bad("'\(Key.weightFormat)' must be one of \(WeightFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let config = json[Key.config], config.objectMembers != nil else { throw bad("'\(Key.config)' is missing") }
        guard let source = json[Key.source] else { throw bad("'\(Key.source)' is missing") }
        guard let rows = json[Key.tensors]?.arrayValue else { throw bad("'\(Key.tensors)' is missing") }
        var sidecars = ModelSidecars()
        sidecars[.preprocessorConfig] = json[Key.preprocessorConfig]
        for (file, key) in Key.tokenizerFiles { sidecars[file] = json[Key.tokenizer]?[key] }
        self.init(architecture: architecture, weightFormat: weightFormat, config: config, sidecars: sidecars, source: source)
        formatVersion = version
        producer = json[Key.producer]?.stringValue ?? ""
        for (key, target) in [(Key.modelType, \NativeHeader.modelType), (Key.targetLanguage, \NativeHeader.targetLanguage)] {
            guard let value = json[key] else { continue }
            guard let text = value.stringValue else { throw bad("'\(key)' must be a string") }
            self[keyPath: target] = text
        }
        tensors = try rows.enumerated().map { try Self.entry($0.element, index: $0.offset, path: path) }
    }

    private static func entry(_ row: JSONValue, index: Int, path: String) throws -> NativeTensorEntry {
        guard let name = row[Key.name]?.stringValue else {
            throw NativeFormatError.badHeader(path: path, reason: "tensor row \(index) has no name")
        }
        func bad(_ reason: String) -> NativeFormatError { .badTensor(path: path, name: name, reason: reason) }
        guard let dtypeName = row[Key.dtype]?.stringValue, let dtype = DType(shortName: dtypeName),
              NativeFormat.storedDTypes.contains(dtype) else {
            throw bad("dtype must be one of \(NativeFormat.storedDTypes.map(\.shortName).joined(separator: ", "))")
        }
        guard let dims = row[Key.shape]?.arrayValue else { throw bad("shape is missing") }
        let shape = dims.compactMap { $0.intValue.flatMap { $0 >= 0 ? $0 : nil } }
        guard shape.count == dims.count else { throw bad("shape has a negative or non-integer dimension") }
        guard let elements = TensorInfo.checkedElementCount(shape) else { throw bad("shape overflows") }
        guard let offset = row[Key.offset]?.intValue, offset >= 0 else { throw bad("offset must be a non-negative integer") }
        guard let byteCount = row[Key.bytes]?.intValue, byteCount >= 0 else { throw bad("bytes must be a non-negative integer") }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, expected == byteCount else {
            throw bad("shape \(shape) of \(dtype.shortName) needs \(overflow ? "too many" : String(expected)) bytes but the table says \(byteCount)")
        }
        guard offset % NativeFormat.alignment == 0 else {
            throw bad("offset \(offset) is not a multiple of \(NativeFormat.alignment)")
        }
        guard let crcText = row[Key.crc32]?.stringValue, crcText.count == 8, let crc = UInt32(crcText, radix: 16) else {
            throw bad("crc32 must be eight hex digits")
        }
        let scale = row[Key.scale]?.stringValue
        guard (dtype == .i8) == (scale != nil) else {
            throw bad(dtype == .i8 ? "an i8 tensor needs a 'scale' tensor" : "only i8 tensors have a 'scale' tensor")
        }
        return NativeTensorEntry(info: TensorInfo(name: name, dtype: dtype, shape: shape), offset: offset,
                                 byteCount: byteCount, crc32: crc, scaleTensor: scale)
    }
}

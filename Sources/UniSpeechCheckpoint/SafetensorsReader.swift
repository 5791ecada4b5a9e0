import Foundation
import UniSpeechCore

/// Why a safetensors file was rejected.
public enum SafetensorsError: LocalizedError, Equatable {
    case tooShort(path: String, size: Int)
    case headerTooLarge(path: String, length: UInt64)
    case headerPastEnd(path: String, length: UInt64, fileSize: Int)
    case badHeader(path: String, reason: String)
    case badTensor(path: String, name: String, reason: String)
    case layout(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .tooShort(path, size):
            return "\(path): not a safetensors file (only \(size) bytes, need at least 8 for the header length)"
        case let .headerTooLarge(path, length):
            return "\(path): safetensors header length \(length) exceeds the \(SafetensorsReader.maxHeaderLength)-byte limit"
        case let .headerPastEnd(path, length, fileSize):
            return "\(path): safetensors header length \(length) runs past the end of the \(fileSize)-byte file (truncated?)"
        case let .badHeader(path, reason): return "\(path): invalid safetensors header: \(reason)"
        case let .badTensor(path, name, reason): return "\(path): tensor '\(name)': \(reason)"
        case let .layout(path, reason): return "\(path): invalid safetensors data layout: \(reason)"
        }
    }
}

/// Reads one `.safetensors` file: header validated up front, tensor bytes mapped on demand.
public struct SafetensorsReader: TensorSource {
    /// The largest header accepted, as in the reference implementation (100 MB).
    public static let maxHeaderLength: UInt64 = 100_000_000

    public let path: String
    public let tensors: [TensorInfo]
    /// The `__metadata__` strings of the header.
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int
    private let ranges: [String: Range<Int>]

    public var sourceDescription: String { path }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        guard file.count >= 8 else { throw SafetensorsError.tooShort(path: path, size: file.count) }
        let lengthBytes = file.bytes(offset: 0, count: 8).array
        let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard headerLength <= Self.maxHeaderLength else {
            throw SafetensorsError.headerTooLarge(path: path, length: headerLength)
        }
        guard headerLength <= UInt64(file.count - 8) else {
            throw SafetensorsError.headerPastEnd(path: path, length: headerLength, fileSize: file.count)
        }
        let headerBytes = file.bytes(offset: 8, count: Int(headerLength)).array
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw SafetensorsError.badHeader(path: path, reason: "does not start with '{'")
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(headerBytes, source: path)
        } catch let error as JSONError {
            guard case let .invalid(_, reason) = error else { throw error }
            throw SafetensorsError.badHeader(path: path, reason: reason)
        }
        guard let members = header.objectMembers else {
            throw SafetensorsError.badHeader(path: path, reason: "not a JSON object")
        }
        if let duplicate = JSONKeyScanner.firstDuplicateTopLevelKey(headerBytes) {
            throw SafetensorsError.badHeader(path: path, reason: "duplicate key '\(duplicate)'")
        }
        dataStart = 8 + Int(headerLength)
        let dataLength = file.count - dataStart

        var infos: [(info: TensorInfo, range: Range<Int>)] = []
        var metadata: [String: String] = [:]
        var names = Set<String>()
        for (name, entry) in members {
            // Distinct bytes can still be equal Swift strings (canonically equivalent Unicode).
            guard names.insert(name).inserted else {
                throw SafetensorsError.badHeader(path: path, reason: "duplicate key '\(name)'")
            }
            if name == "__metadata__" {
                guard let pairs = entry.objectMembers else {
                    throw SafetensorsError.badHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (key, value) in pairs {
                    guard let text = value.stringValue else {
                        throw SafetensorsError.badHeader(path: path, reason: "__metadata__ value of '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            infos.append(try Self.parseEntry(name: name, entry: entry, path: path))
        }

        let sorted = infos.sorted { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        var expectedStart = 0
        for item in sorted {
            guard item.range.lowerBound == expectedStart else {
                let reason = item.range.lowerBound < expectedStart
                    ? "tensor '\(item.info.name)' overlaps the tensor before it"
                    : "hole of \(item.range.lowerBound - expectedStart) bytes before tensor '\(item.info.name)'"
                throw SafetensorsError.layout(path: path, reason: reason)
            }
            expectedStart = item.range.upperBound
        }
        guard expectedStart == dataLength else {
            let reason = expectedStart > dataLength
                ? "tensors need \(expectedStart) data bytes but the file has \(dataLength) (truncated?)"
                : "\(dataLength - expectedStart) bytes after the last tensor"
            throw SafetensorsError.layout(path: path, reason: reason)
        }
        tensors = sorted.map(\.info)
        ranges = Dictionary(uniqueKeysWithValues: sorted.map { ($0.info.name, $0.range) })
        self.metadata = metadata
    }

    private static func parseEntry(name: String, entry: JSONValue, path: String) throws -> (info: TensorInfo, range: Range<Int>) {
        func fail(_ reason: String) -> SafetensorsError { .badTensor(path: path, name: name, reason: reason) }
        guard entry.objectMembers != nil else { throw fail("entry is not an object") }
        guard let dtypeName = entry["dtype"]?.stringValue else { throw fail("missing dtype") }
        guard let dtype = DType(rawValue: dtypeName) else { throw fail("unsupported dtype '\(dtypeName)'") }
        guard let shapeValues = entry["shape"]?.arrayValue else { throw fail("missing shape") }
        let shape = shapeValues.compactMap { $0.intValue.flatMap { $0 >= 0 ? $0 : nil } }
        guard shape.count == shapeValues.count else { throw fail("shape has a negative or non-integer dimension") }
        guard let elements = TensorInfo.checkedElementCount(shape) else { throw fail("shape \(shape) overflows") }
        guard let offsets = entry["data_offsets"]?.arrayValue, offsets.count == 2,
              let start = offsets[0].intValue, let end = offsets[1].intValue, start >= 0, end >= start
        else { throw fail("data_offsets must be two integers [start, end] with start <= end") }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, end - start == byteCount else {
            throw fail("shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(byteCount)) bytes but data_offsets span \(end - start)")
        }
        return (TensorInfo(name: name, dtype: dtype, shape: shape), start..<end)
    }

    public func bytes(of name: String) throws -> TensorBytes {
        guard let range = ranges[name] else {
            throw TensorSourceError.missingTensor(source: path, name: name)
        }
        return file.bytes(offset: dataStart + range.lowerBound, count: range.count)
    }
}

/// Finds repeated keys in a JSON object's top level (json-c keeps only the last of them).
enum JSONKeyScanner {
    static func firstDuplicateTopLevelKey(_ bytes: [UInt8]) -> String? {
        var seen = Set<[UInt8]>()
        var depth = 0
        var index = 0
        var expectKey = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = depth == 1 && byte == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectKey = depth == 1
            case UInt8(ascii: "\""):
                var end = index + 1
                while end < bytes.count && bytes[end] != UInt8(ascii: "\"") {
                    end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectKey {
                    let key = Array(bytes[(index + 1)..<min(end, bytes.count)])
                    if !seen.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
                    expectKey = false
                }
                index = end
            default:
                break
            }
            index += 1
        }
        return nil
    }
}

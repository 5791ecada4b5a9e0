import Foundation
import UniSpeechCore
import UniSpeechKernels

/// A `.unispeech` file opened by memory map: header and layout checked up front, tensor bytes
/// handed out in place. Checksums are checked only by `checkChecksums()` (verify, inspect --check).
public struct NativeReader: TensorSource {
    public let path: String
    public let header: NativeHeader
    public let tensors: [TensorInfo]
    /// Size of the whole file in bytes.
    public var fileSize: Int { file.count }
    private let file: MappedFile
    private let dataStart: Int
    private let entries: [String: NativeTensorEntry]

    public var sourceDescription: String { path }

    /// Opens and checks a native file.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        guard file.count >= NativeFormat.magic.count,
              file.bytes(offset: 0, count: NativeFormat.magic.count).array == NativeFormat.magic else {
            throw NativeFormatError.notNative(path: path)
        }
        guard file.count >= NativeFormat.prefixLength else {
            throw NativeFormatError.truncated(path: path, reason: "\(file.count) bytes, shorter than the \(NativeFormat.prefixLength)-byte prefix")
        }
        let prefix = file.bytes(offset: 0, count: NativeFormat.prefixLength)
        let version = UInt32(littleEndian: prefix.slice(offset: 8, count: 4).load(as: UInt32.self)[0])
        guard version <= NativeFormat.version else { throw NativeFormatError.newerVersion(path: path, version: version) }
        guard version >= 1 else { throw NativeFormatError.badHeader(path: path, reason: "format version 0 does not exist") }
        let headerLength = UInt64(littleEndian: prefix.slice(offset: 16, count: 8).load(as: UInt64.self)[0])
        guard headerLength <= NativeFormat.maxHeaderLength else {
            throw NativeFormatError.badHeader(path: path, reason: "header length \(headerLength) exceeds the \(NativeFormat.maxHeaderLength)-byte limit")
        }
        guard headerLength <= UInt64(file.count - NativeFormat.prefixLength) else {
            throw NativeFormatError.truncated(path: path, reason: "header of \(headerLength) bytes runs past the end of the \(file.count)-byte file")
        }
        let headerBytes = file.bytes(offset: NativeFormat.prefixLength, count: Int(headerLength))
        let storedChecksum = UInt32(littleEndian: prefix.slice(offset: NativeFormat.headerChecksumOffset, count: 4).load(as: UInt32.self)[0])
        let headerChecksum = CRC32.checksum(headerBytes)
        guard headerChecksum == storedChecksum else {
            throw NativeFormatError.badHeader(path: path, reason: "the header is damaged (crc32 \(CRC32.hex(headerChecksum)), the prefix says \(CRC32.hex(storedChecksum)))")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(headerBytes.array, source: path)
        } catch let error as JSONError {
            guard case let .invalid(_, reason) = error else { throw error }
            throw NativeFormatError.badHeader(path: path, reason: reason)
        }
        let header = try NativeHeader(json: json, path: path)
        guard header.formatVersion == Int(version) else {
            throw NativeFormatError.badHeader(path: path, reason: "header says format version \(header.formatVersion) but the prefix says \(version)")
        }
        dataStart = NativeFormat.aligned(NativeFormat.prefixLength + Int(headerLength))
        guard dataStart <= file.count else {
            throw NativeFormatError.truncated(path: path, reason: "the data section would start at byte \(dataStart), past the end of the \(file.count)-byte file")
        }
        try Self.checkLayout(header.tensors, dataLength: file.count - dataStart, path: path)
        self.header = header
        tensors = header.tensors.map(\.info)
        entries = Dictionary(uniqueKeysWithValues: header.tensors.map { ($0.info.name, $0) })
    }

    /// Checks names, ranges, overlaps and the i8 scale tensors of a tensor table.
    private static func checkLayout(_ table: [NativeTensorEntry], dataLength: Int, path: String) throws {
        var byName: [String: NativeTensorEntry] = [:]
        for entry in table {
            guard byName.updateValue(entry, forKey: entry.info.name) == nil else {
                throw NativeFormatError.badHeader(path: path, reason: "tensor '\(entry.info.name)' is listed twice")
            }
            let (end, overflow) = entry.offset.addingReportingOverflow(entry.byteCount)
            guard !overflow, end <= max(dataLength, 0) else {
                throw NativeFormatError.truncated(path: path, reason: "tensor '\(entry.info.name)' at data offset \(entry.offset) + \(entry.byteCount) bytes lies outside the \(max(dataLength, 0))-byte data section")
            }
        }
        let sorted = table.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.offset + previous.byteCount > next.offset {
            throw NativeFormatError.overlap(path: path, first: previous.info.name, second: next.info.name)
        }
        for entry in table {
            guard let scaleName = entry.scaleTensor else { continue }
            guard entry.info.shape.count >= 1 else {
                throw NativeFormatError.badTensor(path: path, name: entry.info.name, reason: "an i8 tensor needs at least one dimension")
            }
            guard let scale = byName[scaleName], scale.info.dtype == .f32, scale.info.shape == [entry.info.shape[0]] else {
                throw NativeFormatError.badTensor(path: path, name: entry.info.name,
                                                  reason: "scale tensor '\(scaleName)' must exist as f32 with shape [\(entry.info.shape[0])]")
            }
        }
    }

    public func bytes(of name: String) throws -> TensorBytes {
        guard let entry = entries[name] else { throw TensorSourceError.missingTensor(source: path, name: name) }
        return file.bytes(offset: dataStart + entry.offset, count: entry.byteCount)
    }

    /// Recomputes every tensor's crc32 and throws on the first mismatch.
    public func checkChecksums() throws {
        for entry in header.tensors {
            let found = CRC32.checksum(try bytes(of: entry.info.name))
            guard found == entry.crc32 else {
                throw NativeFormatError.checksumMismatch(path: path, name: entry.info.name,
                                                         expected: CRC32.hex(entry.crc32), found: CRC32.hex(found))
            }
        }
    }
}

import CZip
import Foundation
import UniSpeechCore

/// Why a PyTorch checkpoint file was rejected.
public enum TorchCheckpointError: LocalizedError, Equatable {
    case legacyFormat(path: String)
    case notACheckpoint(path: String)
    case badArchive(path: String, reason: String)
    case missingEntry(path: String, entry: String)
    case compressedEntry(path: String, entry: String, method: Int)
    case entryOutsideFile(path: String, entry: String)
    case checksumMismatch(path: String, entry: String, expected: UInt32, found: UInt32)
    case byteOrder(path: String, found: String)
    case entryTooLarge(path: String, entry: String, size: Int, limit: Int)
    case badTensor(path: String, name: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .legacyFormat(path):
            return "\(path): legacy PyTorch format (written by torch.save before PyTorch 1.6, not a zip archive); re-save it with a current torch.save or as safetensors"
        case let .notACheckpoint(path):
            return "\(path): not a PyTorch checkpoint (expected a zip archive written by torch.save)"
        case let .badArchive(path, reason): return "\(path): invalid zip archive: \(reason)"
        case let .missingEntry(path, entry): return "\(path): archive entry '\(entry)' is missing"
        case let .compressedEntry(path, entry, method):
            return "\(path): archive entry '\(entry)' is compressed (zip method \(method)); torch.save stores entries uncompressed, re-save the checkpoint with torch.save"
        case let .entryOutsideFile(path, entry): return "\(path): archive entry '\(entry)' runs past the end of the file (truncated?)"
        case let .checksumMismatch(path, entry, expected, found):
            return "\(path): archive entry '\(entry)' is corrupt (CRC-32 \(String(found, radix: 16)), expected \(String(expected, radix: 16)))"
        case let .byteOrder(path, found): return "\(path): byte order '\(found)' is not supported (only 'little')"
        case let .entryTooLarge(path, entry, size, limit):
            return "\(path): archive entry '\(entry)' is \(size) bytes, over the \(limit)-byte limit for it"
        case let .badTensor(path, name, reason): return "\(path): tensor '\(name)': \(reason)"
        }
    }
}

/// Reads a `torch.save` zip checkpoint (PyTorch >= 1.6): the state dict from `data.pkl` through the
/// restricted unpickler, tensor bytes mapped from the stored `data/<key>` entries on demand.
public struct TorchZipReader: TensorSource {
    /// The largest `data.pkl` accepted (a state dict's pickle is a few hundred KB even for large models).
    public static let maxPickleBytes = 64 << 20

    public let path: String
    public let tensors: [TensorInfo]
    private let file: MappedFile
    private let records: [String: TorchTensorRecord]
    private let storages: [String: ZipEntry]

    public var sourceDescription: String { path }

    /// Opens the archive and reads the state dict; tensor bytes are read only by `bytes(of:)`.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let head = file.bytes(offset: 0, count: min(file.count, 512)).array
        guard head.starts(with: [0x50, 0x4B, 0x03, 0x04]) else {
            let isPickle = head.first == 0x80
            let isTar = head.count >= 262 && Array(head[257..<262]) == Array("ustar".utf8)
            throw isPickle || isTar ? TorchCheckpointError.legacyFormat(path: path) : TorchCheckpointError.notACheckpoint(path: path)
        }
        let archive = try ZipArchive(file: file, path: path)
        let root = try archive.root()
        if let order = try archive.contents(of: root + "/byteorder", limit: 16) {
            let text = String(decoding: order, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text == "little" else { throw TorchCheckpointError.byteOrder(path: path, found: text) }
        }
        guard let pickle = try archive.contents(of: root + "/data.pkl", limit: Self.maxPickleBytes) else {
            throw TorchCheckpointError.missingEntry(path: path, entry: root + "/data.pkl")
        }
        let stateDict = try RestrictedUnpickler.stateDict(from: pickle, source: path)

        var storages: [String: ZipEntry] = [:]
        var records: [String: TorchTensorRecord] = [:]
        var infos: [TensorInfo] = []
        for (name, record) in stateDict {
            func fail(_ reason: String) -> TorchCheckpointError { .badTensor(path: path, name: name, reason: reason) }
            let entryName = root + "/data/" + record.storageKey
            guard let entry = archive.entries[entryName] else { throw TorchCheckpointError.missingEntry(path: path, entry: entryName) }
            let (storageBytes, overflow) = record.storageElements.multipliedReportingOverflow(by: record.dtype.size)
            guard !overflow, storageBytes == entry.size else {
                throw fail("storage '\(record.storageKey)' holds \(record.storageElements) \(record.dtype.rawValue) elements but its entry has \(entry.size) bytes")
            }
            guard let elements = TensorInfo.checkedElementCount(record.shape), elements <= record.storageElements else {
                throw fail("shape \(record.shape) has more elements than its storage of \(record.storageElements) (an overlapping view)")
            }
            guard let extent = Self.extent(record), extent <= record.storageElements else {
                throw fail("view (offset \(record.offset), shape \(record.shape), strides \(record.strides)) reaches past its storage of \(record.storageElements) elements")
            }
            storages[record.storageKey] = entry
            records[name] = record
            infos.append(TensorInfo(name: name, dtype: record.dtype, shape: record.shape))
        }
        tensors = infos
        self.records = records
        self.storages = storages
    }

    /// One past the last storage element the view touches (offset when empty), nil on overflow.
    private static func extent(_ record: TorchTensorRecord) -> Int? {
        if record.shape.contains(0) { return record.offset }
        var last = record.offset
        for (dim, stride) in zip(record.shape, record.strides) {
            let (step, overflow) = (dim - 1).multipliedReportingOverflow(by: stride)
            guard !overflow else { return nil }
            let (sum, sumOverflow) = last.addingReportingOverflow(step)
            guard !sumOverflow else { return nil }
            last = sum
        }
        let (end, overflow) = last.addingReportingOverflow(1)
        return overflow ? nil : end
    }

    /// The tensor's bytes: mapped in place when the view is contiguous, else gathered into a copy.
    /// The storage entry's CRC-32 is checked on every read.
    public func bytes(of name: String) throws -> TensorBytes {
        guard let record = records[name], let entry = storages[record.storageKey] else {
            throw TensorSourceError.missingTensor(source: path, name: name)
        }
        let storage = file.bytes(offset: entry.dataOffset, count: entry.size)
        let crc = storage.withUnsafeBytes { CRC32.checksum($0) }
        guard crc == entry.crc else {
            throw TorchCheckpointError.checksumMismatch(path: path, entry: entry.name, expected: entry.crc, found: crc)
        }
        let size = record.dtype.size
        let byteCount = record.shape.reduce(1, *) * size
        if record.isContiguous {
            return storage.slice(offset: record.offset * size, count: byteCount)
        }
        return StridedGather.gather(storage, elementSize: size, offset: record.offset, shape: record.shape, strides: record.strides)
    }
}

/// Copies a strided view out of a storage into row-major order.
enum StridedGather {
    static func gather(_ storage: TensorBytes, elementSize: Int, offset: Int, shape: [Int], strides: [Int]) -> TensorBytes {
        let count = shape.reduce(1, *)
        var output = [UInt8](repeating: 0, count: count * elementSize)
        guard count > 0 else { return TensorBytes(copying: output) }
        storage.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                var index = [Int](repeating: 0, count: shape.count)
                var element = offset
                for position in 0..<count {
                    target.baseAddress!.advanced(by: position * elementSize)
                        .copyMemory(from: source.baseAddress!.advanced(by: element * elementSize), byteCount: elementSize)
                    var axis = shape.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        element += strides[axis]
                        if index[axis] < shape[axis] { break }
                        element -= strides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return TensorBytes(copying: output)
    }
}

/// One stored archive member: where its bytes start in the file, and what the directory says of them.
struct ZipEntry: Sendable {
    let name: String
    let dataOffset: Int
    let size: Int
    let crc: UInt32
}

/// A zip archive opened with libzip (which validates it and reads the small entries), with data offsets
/// taken from the local file headers so stored entries can be mapped in place.
struct ZipArchive {
    let path: String
    let file: MappedFile
    /// Every member by name.
    let entries: [String: ZipEntry]
    private let names: [String]

    init(file: MappedFile, path: String) throws {
        self.path = path
        self.file = file
        var errorCode: Int32 = 0
        guard let archive = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &errorCode) else {
            var error = zip_error_t()
            zip_error_init_with_code(&error, errorCode)
            defer { zip_error_fini(&error) }
            throw TorchCheckpointError.badArchive(path: path, reason: String(cString: zip_error_strerror(&error)))
        }
        defer { zip_discard(archive) }
        let headerOffsets = try ZipCentralDirectory.localHeaderOffsets(file: file, path: path)
        var entries: [String: ZipEntry] = [:]
        var names: [String] = []
        let count = zip_get_num_entries(archive, 0)
        guard count == headerOffsets.count else {
            throw TorchCheckpointError.badArchive(path: path, reason: "libzip lists \(count) entries but the central directory \(headerOffsets.count)")
        }
        for index in 0..<Int(count) {
            var status = zip_stat_t()
            guard zip_stat_index(archive, zip_uint64_t(index), 0, &status) == 0, let cName = status.name else {
                throw TorchCheckpointError.badArchive(path: path, reason: "entry \(index) cannot be read")
            }
            let name = String(cString: cName)
            guard status.comp_method == ZIP_CM_STORE else {
                throw TorchCheckpointError.compressedEntry(path: path, entry: name, method: Int(status.comp_method))
            }
            guard status.encryption_method == ZIP_EM_NONE else {
                throw TorchCheckpointError.badArchive(path: path, reason: "entry '\(name)' is encrypted")
            }
            guard headerOffsets[index].name == name else {
                throw TorchCheckpointError.badArchive(path: path, reason: "entry \(index) is '\(name)' for libzip but '\(headerOffsets[index].name)' in the central directory")
            }
            let dataOffset = try Self.dataOffset(file: file, path: path, header: headerOffsets[index].offset, name: name)
            let size = Int(status.size)
            guard size <= file.count - dataOffset else { throw TorchCheckpointError.entryOutsideFile(path: path, entry: name) }
            entries[name] = ZipEntry(name: name, dataOffset: dataOffset, size: size, crc: status.crc)
            names.append(name)
        }
        self.entries = entries
        self.names = names
    }

    /// The archive's top folder, the one holding `data.pkl` (torch names it after the file).
    func root() throws -> String {
        let pickles = names.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1 else {
            if pickles.isEmpty { throw TorchCheckpointError.missingEntry(path: path, entry: "<root>/data.pkl") }
            throw TorchCheckpointError.badArchive(path: path, reason: "several data.pkl entries: \(pickles.joined(separator: ", "))")
        }
        return String(pickles[0].dropLast("/data.pkl".count))
    }

    /// The bytes of a small entry with their CRC-32 checked, nil when absent.
    func contents(of name: String, limit: Int) throws -> [UInt8]? {
        guard let entry = entries[name] else { return nil }
        guard entry.size <= limit else {
            throw TorchCheckpointError.entryTooLarge(path: path, entry: name, size: entry.size, limit: limit)
        }
        let bytes = file.bytes(offset: entry.dataOffset, count: entry.size)
        let crc = bytes.withUnsafeBytes { CRC32.checksum($0) }
        guard crc == entry.crc else {
            throw TorchCheckpointError.checksumMismatch(path: path, entry: name, expected: entry.crc, found: crc)
        }
        return bytes.array
    }

    /// Where an entry's data begins: after its local header, name and extra field.
    private static func dataOffset(file: MappedFile, path: String, header: Int, name: String) throws -> Int {
        let fixedLength = 30
        guard header >= 0, header <= file.count - fixedLength else { throw TorchCheckpointError.entryOutsideFile(path: path, entry: name) }
        let fields = file.bytes(offset: header, count: fixedLength)
        guard fields.le32(0) == 0x0403_4B50 else {
            throw TorchCheckpointError.badArchive(path: path, reason: "no local header for entry '\(name)' at byte \(header)")
        }
        let nameLength = Int(fields.le16(26))
        let extraLength = Int(fields.le16(28))
        let start = header + fixedLength + nameLength + extraLength
        guard start <= file.count else { throw TorchCheckpointError.entryOutsideFile(path: path, entry: name) }
        let localName = file.bytes(offset: header + fixedLength, count: nameLength).array
        guard localName == Array(name.utf8) else {
            throw TorchCheckpointError.badArchive(path: path, reason: "local header at byte \(header) names '\(String(decoding: localName, as: UTF8.self))', expected '\(name)'")
        }
        return start
    }
}

/// The central directory's record of where each local header is (libzip does not expose it).
enum ZipCentralDirectory {
    static func localHeaderOffsets(file: MappedFile, path: String) throws -> [(name: String, offset: Int)] {
        func bad(_ reason: String) -> TorchCheckpointError { .badArchive(path: path, reason: reason) }
        let endLength = 22
        guard file.count >= endLength else { throw bad("too short for an end-of-central-directory record") }
        let searchStart = max(0, file.count - endLength - 65_535)
        let tail = file.bytes(offset: searchStart, count: file.count - searchStart)
        var endOffset = -1
        for candidate in stride(from: tail.count - endLength, through: 0, by: -1) where tail.le32(candidate) == 0x0605_4B50 {
            endOffset = searchStart + candidate
            break
        }
        guard endOffset >= 0 else { throw bad("no end-of-central-directory record") }
        let end = file.bytes(offset: endOffset, count: endLength)
        var count = Int(end.le16(10))
        var directorySize = Int(end.le32(12))
        var directoryOffset = Int(end.le32(16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            guard endOffset >= 20 else { throw bad("zip64 locator missing") }
            let locator = file.bytes(offset: endOffset - 20, count: 20)
            guard locator.le32(0) == 0x0706_4B50 else { throw bad("zip64 locator missing") }
            let recordOffset = Int(clamping: locator.le64(8))
            guard recordOffset >= 0, recordOffset <= file.count - 56 else { throw bad("zip64 end record outside the file") }
            let record = file.bytes(offset: recordOffset, count: 56)
            guard record.le32(0) == 0x0606_4B50 else { throw bad("zip64 end record missing") }
            count = Int(clamping: record.le64(32))
            directorySize = Int(clamping: record.le64(40))
            directoryOffset = Int(clamping: record.le64(48))
        }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= file.count - directorySize else {
            throw bad("central directory outside the file")
        }
        let directory = file.bytes(offset: directoryOffset, count: directorySize)
        var result: [(name: String, offset: Int)] = []
        var position = 0
        for _ in 0..<count {
            guard position + 46 <= directory.count, directory.le32(position) == 0x0201_4B50 else {
                throw bad("central directory entry \(result.count) is damaged")
            }
            let nameLength = Int(directory.le16(position + 28))
            let extraLength = Int(directory.le16(position + 30))
            let commentLength = Int(directory.le16(position + 32))
            let next = position + 46 + nameLength + extraLength + commentLength
            guard next <= directory.count else { throw bad("central directory entry \(result.count) is damaged") }
            let name = String(decoding: directory.slice(offset: position + 46, count: nameLength).array, as: UTF8.self)
            var offset = UInt64(directory.le32(position + 42))
            if offset == 0xFFFF_FFFF {
                offset = try zip64Offset(directory.slice(offset: position + 46 + nameLength, count: extraLength),
                                         sizesInExtra: (directory.le32(position + 24) == 0xFFFF_FFFF ? 1 : 0) + (directory.le32(position + 20) == 0xFFFF_FFFF ? 1 : 0),
                                         entry: name, path: path)
            }
            result.append((name, Int(clamping: offset)))
            position = next
        }
        return result
    }

    /// The local header offset from a zip64 extra field (after the sizes that overflowed).
    private static func zip64Offset(_ extra: TensorBytes, sizesInExtra: Int, entry: String, path: String) throws -> UInt64 {
        var position = 0
        while position + 4 <= extra.count {
            let id = extra.le16(position)
            let length = Int(extra.le16(position + 2))
            if id == 0x0001, position + 4 + 8 * (sizesInExtra + 1) <= extra.count, length >= 8 * (sizesInExtra + 1) {
                return extra.le64(position + 4 + 8 * sizesInExtra)
            }
            position += 4 + length
        }
        throw TorchCheckpointError.badArchive(path: path, reason: "entry '\(entry)' lacks its zip64 offset")
    }
}

extension TensorBytes {
    func le16(_ offset: Int) -> UInt16 { withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian } }
    func le32(_ offset: Int) -> UInt32 { withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian } }
    func le64(_ offset: Int) -> UInt64 { withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian } }
}

import Foundation
import UniSpeechCore

/// Why a .npy file was rejected.
public enum NpyError: LocalizedError, Equatable {
    case unreadable(path: String, reason: String)
    case notNpy(path: String, reason: String)
    case unsupported(path: String, found: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read (\(reason))"
        case let .notNpy(path, reason): return "\(path): not a valid .npy file (\(reason))"
        case let .unsupported(path, found):
            return "\(path): expected a 1-D little-endian float32 array (descr '<f4', C order), found \(found)"
        }
    }
}

/// Reads NumPy .npy files holding one float32 vector of raw samples.
public enum NpyReader {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Where the samples of a 1-D '<f4' .npy file lie: the data's byte offset and the sample count.
    struct Layout: Equatable {
        var dataStart: Int
        var count: Int
    }

    /// The samples of a 1-D '<f4' .npy file.
    public static func readFloat32Vector(path: String) throws -> [Float] {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch let error as MappedFile.Failure {
            guard case let .cannotOpen(_, reason) = error else { throw error }
            throw NpyError.unreadable(path: path, reason: reason)
        }
        let layout = try self.layout(path: path, fileSize: file.count) { file.bytes(offset: 0, count: min($0, file.count)).array }
        return file.all.slice(offset: layout.dataStart, count: layout.count * MemoryLayout<Float>.size).floats(as: .f32)
    }

    /// The layout of a file of `fileSize` bytes whose first bytes `prefix(n)` gives (fewer when the file is shorter).
    static func layout(path: String, fileSize: Int, prefix: (Int) throws -> [UInt8]) throws -> Layout {
        var bytes = try prefix(12)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw NpyError.notNpy(path: path, reason: "no NUMPY magic") }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw NpyError.notNpy(path: path, reason: "truncated header") }
            headerStart = 12
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
        default:
            throw NpyError.notNpy(path: path, reason: "unknown format version \(major)")
        }
        guard headerStart + headerLength <= fileSize else { throw NpyError.notNpy(path: path, reason: "truncated header") }
        bytes = try prefix(headerStart + headerLength)
        guard headerStart + headerLength <= bytes.count,
              let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8)
        else { throw NpyError.notNpy(path: path, reason: "truncated header") }
        let descr = field("descr", in: header)
        let fortran = field("fortran_order", in: header)
        let shape = field("shape", in: header)
        guard descr == "'<f4'", fortran == "False", let shape else {
            throw NpyError.unsupported(path: path, found: "descr \(descr ?? "?"), fortran_order \(fortran ?? "?"), shape \(shape ?? "?")")
        }
        let dimensions = shape.trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard dimensions.count == 1, let count = Int(dimensions[0]) else {
            throw NpyError.unsupported(path: path, found: "shape \(shape)")
        }
        let dataStart = headerStart + headerLength
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        guard count >= 0, !overflow else { throw NpyError.unsupported(path: path, found: "shape \(shape)") }
        guard fileSize - dataStart == dataBytes else {
            throw NpyError.notNpy(path: path, reason: "shape \(shape) needs \(dataBytes) data bytes, found \(fileSize - dataStart)")
        }
        return Layout(dataStart: dataStart, count: count)
    }

    /// The text of `key`'s value in the header dict: a quoted string, a word, or a parenthesised tuple.
    private static func field(_ key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        let rest = header[keyRange.upperBound...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if rest.first == "'" {
            guard let close = rest.dropFirst().firstIndex(of: "'") else { return nil }
            return String(rest[...close])
        }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }
}

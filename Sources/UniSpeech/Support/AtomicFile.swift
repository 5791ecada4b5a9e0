import CFileIO
import Foundation

/// Why an output file could not be written.
public enum OutputFileError: LocalizedError, Equatable {
    case sameAsInput(path: String)
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .sameAsInput(path): return "\(path): refusing to overwrite an input file; choose another output path"
        case let .cannotCreate(path, reason): return "\(path): cannot create output file (\(reason))"
        case let .writeFailed(path, reason): return "\(path): write failed (\(reason)); the output was not written"
        }
    }
}

/// Sequential writer to the temporary file behind an `AtomicFile`.
public final class FileSink {
    /// Bytes per write() of a large buffer: small enough that a chunk just read (e.g. checksummed)
    /// is still in cache when the kernel copies it, large enough that calls are few.
    static let chunkBytes = 1 << 20
    /// Written bytes after which writeback to disk is started, so the closing fsync finds little left to do.
    static let writebackBytes = 32 << 20

    private let fd: Int32
    private let path: String
    /// Bytes written so far.
    public private(set) var offset: Int = 0
    /// End of the range whose writeback has been started.
    private var writebackStarted = 0

    fileprivate init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Appends raw bytes.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = Foundation.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputFileError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
        offset += done
        if offset - writebackStarted >= Self.writebackBytes {
            // Only a hint: a failure here shows up again at fsync, which decides.
            _ = cf_start_writeback(fd, Int64(writebackStarted), Int64(offset - writebackStarted))
            writebackStarted = offset
        }
    }

    /// Appends `bytes` chunk by chunk, handing each chunk to `inspect` just before it is written: one read
    /// from memory serves both (e.g. a checksum), and the source pages are mapped before the kernel copies them.
    public func write(_ bytes: TensorBytes, inspectingChunks inspect: (UnsafeRawBufferPointer) -> Void) throws {
        try bytes.withUnsafeBytes { all in
            var start = 0
            while start < all.count {
                let chunk = UnsafeRawBufferPointer(rebasing: all[start..<min(start + Self.chunkBytes, all.count)])
                inspect(chunk)
                try write(chunk)
                start += chunk.count
            }
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    public func write(_ bytes: TensorBytes) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Rewrites bytes already written at `position` (for a header completed after the data).
    public func overwrite(_ bytes: [UInt8], at position: Int) throws {
        precondition(position >= 0 && position + bytes.count <= offset, "overwrite past the written bytes")
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(position + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputFileError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
    }

    /// Writes zero bytes until the offset is a multiple of `alignment`.
    public func pad(to alignment: Int) throws {
        let remainder = offset % alignment
        if remainder != 0 { try write([UInt8](repeating: 0, count: alignment - remainder)) }
    }
}

/// Writes a file all-or-nothing: a temporary file in the target directory, fsync, rename.
/// On any error the temporary file is removed and an existing file at the path is untouched.
public enum AtomicFile {
    /// Writes `path` through `body`; refuses when `path` is one of `inputs` (same file on disk).
    public static func write(to path: String, inputs: [String] = [], _ body: (FileSink) throws -> Void) throws {
        signal(SIGXFSZ, SIG_IGN)
        for input in inputs where sameFile(path, input) { throw OutputFileError.sameAsInput(path: path) }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var template = Array((directory + "/." + url.lastPathComponent + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw OutputFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var finished = false
        defer {
            if !finished { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            try body(FileSink(fd: fd, path: path))
            guard fchmod(fd, 0o644) == 0, fsync(fd) == 0 else {
                throw OutputFileError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        }
        guard rename(temporary, path) == 0 else {
            throw OutputFileError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        finished = true
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    private static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}

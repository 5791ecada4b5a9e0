import CBytes
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
///
/// Where the file system allows it, appended bytes are staged in aligned buffers that a writer thread sends
/// to the device with direct I/O while the caller fills the next one: the page cache then need not find
/// (and zero) a fresh page for every 4 KiB, which on a VM whose free memory goes back to the host costs
/// more than the disk. The unaligned tail and later overwrites go through the page cache; the closing
/// fsync covers both. The writer thread only runs `writeAll` on queued buffers; the caller touches the
/// state it shares with it (`direct`, `writerFailure`, `staging`) only after draining the queue.
public final class FileSink: @unchecked Sendable {
    /// Bytes per chunk of a large buffer handed to `inspect`: small enough to still be in cache when it is copied.
    static let chunkBytes = 1 << 20
    /// Bytes per direct write.
    static let stagingBytes = 1 << 20
    /// Staging buffers: one being filled, the others queued for the writer thread.
    static let stagingBufferCount = 4
    /// Alignment of address, file offset and length that direct I/O needs (4 KiB covers 512 B and 4 KiB sectors).
    static let directAlignment = 4096
    /// Bytes written through the page cache after which writeback is started, so the closing fsync finds little to do.
    static let writebackBytes = 32 << 20

    private let fd: Int32
    private let path: String
    /// Bytes written so far.
    public private(set) var offset: Int = 0
    /// The staging buffers while writes go out direct; empty once they go through the page cache.
    private var staging: [UnsafeMutableRawBufferPointer] = []
    /// The buffer being filled and its byte count.
    private var current = 0
    private var staged = 0
    /// Counts the staging buffers neither being filled nor queued.
    private let idleBuffers = DispatchSemaphore(value: stagingBufferCount - 1)
    /// Writes the queued staging buffers in order.
    private let writer = DispatchQueue(label: "unispeech.file-sink")
    /// The first error of the writer thread; read only after draining `writer`.
    private var writerFailure: Error?
    /// True while the descriptor has direct I/O on.
    private var direct = false
    /// End of the range whose writeback has been started.
    private var writebackStarted = 0

    fileprivate init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        if cb_set_direct_io(fd, 1) == 0 {
            direct = true
            staging = (0..<Self.stagingBufferCount).map { _ in
                .allocate(byteCount: Self.stagingBytes, alignment: Self.directAlignment)
            }
        }
    }

    deinit {
        writer.sync {}
        for buffer in staging { buffer.deallocate() }
    }

    /// Appends raw bytes.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard !staging.isEmpty else {
            try writeAll(buffer)
            offset += buffer.count
            if offset - writebackStarted >= Self.writebackBytes {
                // Only a hint: a failure here shows up again at fsync, which decides.
                _ = cb_start_writeback(fd, Int64(writebackStarted), Int64(offset - writebackStarted))
                writebackStarted = offset
            }
            return
        }
        var done = 0
        while done < buffer.count {
            let count = min(buffer.count - done, Self.stagingBytes - staged)
            UnsafeMutableRawBufferPointer(rebasing: staging[current][staged..<(staged + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[done..<(done + count)]))
            staged += count
            done += count
            if staged == Self.stagingBytes { queueFullBuffer() }
        }
        offset += buffer.count
    }

    /// Appends `bytes` chunk by chunk, handing each chunk to `inspect` just before it is written: one read
    /// from memory serves both (e.g. a checksum), and mapped source pages are in place before the copy.
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
        try finishStaging()
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

    /// Hands the full current buffer to the writer thread and waits until the next one is idle
    /// (buffers are written in ring order, so an idle buffer means the next one is).
    private func queueFullBuffer() {
        let full = current
        writer.async { [self] in
            if writerFailure == nil {
                do { try writeAll(UnsafeRawBufferPointer(staging[full])) } catch { writerFailure = error }
            }
            idleBuffers.signal()
        }
        idleBuffers.wait()
        current = (current + 1) % staging.count
        staged = 0
    }

    /// Waits for the writer thread, writes the staged tail and sends everything after through the page cache.
    fileprivate func finishStaging() throws {
        guard !staging.isEmpty else { return }
        writer.sync {}
        if let writerFailure { throw writerFailure }
        if staged % Self.directAlignment != 0 { endDirectIO() }
        try writeAll(UnsafeRawBufferPointer(rebasing: staging[current][0..<staged]))
        endDirectIO()
        for buffer in staging { buffer.deallocate() }
        staging = []
        staged = 0
    }

    /// Waits until no queued write can still reach the descriptor (before it is closed on an error).
    fileprivate func drain() { writer.sync {} }

    private func endDirectIO() {
        if direct { _ = cb_set_direct_io(fd, 0) }
        direct = false
    }

    /// Writes all of `buffer` at the end of the file; when direct I/O is refused there (EINVAL: alignment
    /// rules of this device or file system), turns it off and goes on through the page cache.
    private func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = Foundation.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n >= 0 {
                done += n
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EINVAL && direct {
                endDirectIO()
                continue
            }
            throw OutputFileError.writeFailed(path: path, reason: String(cString: strerror(code)))
        }
    }
}

/// Writes a file all-or-nothing: a temporary file in the target directory, fsync, rename.
/// On any error the temporary file is removed and an existing file at the path is untouched.
public enum AtomicFile {
    /// Writes `path` through `body`; refuses when `path` is one of `inputs` (same file on disk). A file-size limit
    /// reached while writing is an error only if the process ignores SIGXFSZ, which the command line does.
    public static func write(to path: String, inputs: [String] = [], _ body: (FileSink) throws -> Void) throws {
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
            let sink = FileSink(fd: fd, path: path)
            defer { sink.drain() }
            try body(sink)
            try sink.finishStaging()
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

import Foundation

/// Why a JSONL output could not be started or continued.
public enum JSONLOutputError: LocalizedError, Equatable {
    case exists(path: String)
    case unreadable(path: String, reason: String)
    case badLine(path: String, line: Int, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .exists(path): return "\(path): the output exists; continue it with --resume, or choose another path"
        case let .unreadable(path, reason): return "\(path): cannot read the output to resume it (\(reason))"
        case let .badLine(path, line, reason): return "\(path): line \(line): \(reason); this is not an output of unispeech run to resume"
        }
    }
}

/// The JSONL file of a manifest run: one JSON object a line, each line written whole by one write at the end of
/// the file, and the file synced when closed. A run that is killed leaves whole lines, and at most a torn last line
/// (a line without its newline, from a write cut short), which resuming cuts off before appending.
final class JSONLOutput {
    let path: String
    private let handle: FileHandle

    /// The key of a line that names its input.
    static let pathKey = "path"
    /// Bytes read at a time when resuming.
    static let readBytes = 1 << 20
    /// The longest line a resumed file may hold.
    static let maximumLineBytes = 256 << 20

    private init(path: String, descriptor: Int32) {
        self.path = path
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Creates `path` for appending; refuses when it exists or is one of `inputs`.
    static func create(path: String, inputs: [String]) throws -> JSONLOutput {
        try refuseInputs(path, inputs)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            if errno == EEXIST { throw JSONLOutputError.exists(path: path) }
            throw OutputFileError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        return JSONLOutput(path: path, descriptor: descriptor)
    }

    /// Opens `path` to continue it (creating it when absent): the `path` of every whole line, and the bytes of a torn
    /// last line, which are cut off.
    static func resume(path: String, inputs: [String]) throws -> (output: JSONLOutput, done: Set<String>, tornBytes: Int) {
        guard FileManager.default.fileExists(atPath: path) else { return (try create(path: path, inputs: inputs), [], 0) }
        try refuseInputs(path, inputs)
        let (done, wholeBytes, size) = try readWholeLines(path)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else { throw OutputFileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        let output = JSONLOutput(path: path, descriptor: descriptor)
        if wholeBytes < size {
            do {
                try output.handle.truncate(atOffset: UInt64(wholeBytes))
                try output.handle.synchronize()
            } catch {
                throw OutputFileError.writeFailed(path: path, reason: error.localizedDescription)
            }
        }
        return (output, done, size - wholeBytes)
    }

    /// Appends `line` and its newline in one write.
    func append(_ line: JSONValue) throws {
        do {
            try handle.write(contentsOf: Data((line.serialized() + "\n").utf8))
        } catch {
            throw OutputFileError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }

    /// Syncs the file to the device and closes it.
    func close() throws {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw OutputFileError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }

    /// The inputs named by the whole lines of `path`, the bytes those lines take, and the file's size.
    private static func readWholeLines(_ path: String) throws -> (done: Set<String>, wholeBytes: Int, size: Int) {
        guard let reader = FileHandle(forReadingAtPath: path) else {
            throw JSONLOutputError.unreadable(path: path, reason: "cannot open the file")
        }
        defer { try? reader.close() }
        var done = Set<String>()
        var pending: [UInt8] = []
        var wholeBytes = 0, size = 0, lineNumber = 0
        while true {
            let block: Data
            do { block = try reader.read(upToCount: readBytes) ?? Data() } catch {
                throw JSONLOutputError.unreadable(path: path, reason: error.localizedDescription)
            }
            if block.isEmpty { break }
            size += block.count
            pending += block
            var lineStart = 0
            while let newline = pending[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                lineNumber += 1
                let line = Array(pending[lineStart..<newline])
                if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
                    let json = try? JSONValue.parse(line, source: path)
                    guard let input = json?[pathKey]?.stringValue else {
                        throw JSONLOutputError.badLine(path: path, line: lineNumber, reason: "not a JSON object with a string '\(pathKey)'")
                    }
                    done.insert(input)
                }
                wholeBytes += newline + 1 - lineStart
                lineStart = newline + 1
            }
            pending.removeFirst(lineStart)
            guard pending.count <= maximumLineBytes else {
                throw JSONLOutputError.badLine(path: path, line: lineNumber + 1, reason: "no newline in \(maximumLineBytes >> 20) MiB")
            }
        }
        return (done, wholeBytes, size)
    }

    /// Throws when `path` is one of `inputs` (the same file on disk).
    private static func refuseInputs(_ path: String, _ inputs: [String]) throws {
        guard let target = fileIdentity(path) else { return }
        for input in inputs where fileIdentity(input) == target { throw OutputFileError.sameAsInput(path: path) }
    }

    /// The device and inode of an existing file.
    private static func fileIdentity(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}

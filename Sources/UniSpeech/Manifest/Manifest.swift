import Foundation

/// Why a manifest could not be read.
public enum ManifestError: LocalizedError, Equatable {
    case unreadable(path: String, reason: String)
    case badLine(path: String, line: Int, reason: String)
    case empty(path: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read the manifest (\(reason))"
        case let .badLine(path, line, reason): return "\(path): line \(line): \(reason)"
        case let .empty(path): return "\(path): the manifest lists no audio files"
        }
    }
}

/// One input of a manifest: an audio file and, for `eval`, what it says (`text`) or is (`label`).
public struct ManifestEntry: Sendable, Equatable {
    /// The audio path as the manifest gives it (relative paths are relative to the manifest's directory).
    public var audio: String
    /// The path to open: `audio` resolved against the manifest's directory.
    public var path: String
    /// The reference transcript, for CTC models.
    public var text: String?
    /// The reference class label, for classifiers.
    public var label: String?
    /// The 1-based line of the manifest file (0 for files found in a directory).
    public var line: Int
}

/// The inputs of a many-file job, in order: a JSONL manifest (`{"audio": PATH, "text": ...}` or
/// `{"audio": PATH, "label": ...}` per line), a text file of paths (one per line, `#` comments), or a directory
/// searched (recursively, sorted) for audio files.
public struct Manifest: Sendable, Equatable {
    /// The manifest's own path.
    public var path: String
    public var entries: [ManifestEntry]

    /// Extensions a directory search collects.
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "opus", "mp3", "aiff", "aif", "au", "npy"]

    /// The JSON keys of a JSONL line.
    enum Key {
        static let audio = "audio", text = "text", label = "label"
    }

    /// Reads the manifest at `path`, whichever of the three forms it is.
    public static func read(path: String) throws -> Manifest {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ManifestError.unreadable(path: path, reason: "no such file or directory")
        }
        let entries = isDirectory.boolValue ? try directoryEntries(path) : try fileEntries(path)
        guard !entries.isEmpty else { throw ManifestError.empty(path: path) }
        return Manifest(path: path, entries: entries)
    }

    /// Audio files under `directory`, sorted by their path relative to it.
    private static func directoryEntries(_ directory: String) throws -> [ManifestEntry] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw ManifestError.unreadable(path: directory, reason: "cannot list the directory")
        }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            if audioExtensions.contains(URL(fileURLWithPath: relative).pathExtension.lowercased()) { found.append(relative) }
        }
        return found.sorted().map { ManifestEntry(audio: $0, path: directory + "/" + $0, text: nil, label: nil, line: 0) }
    }

    /// The lines of a JSONL manifest or of a list of paths (decided by the first non-blank line).
    private static func fileEntries(_ path: String) throws -> [ManifestEntry] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ManifestError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError.unreadable(path: path, reason: "not UTF-8 text")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func resolved(_ audio: String) -> String { audio.hasPrefix("/") ? audio : base + "/" + audio }
        var entries: [ManifestEntry] = []
        var isJSON: Bool?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let number = index + 1
            if isJSON == nil { isJSON = line.hasPrefix("{") }
            guard isJSON == true else {
                entries.append(ManifestEntry(audio: line, path: resolved(line), text: nil, label: nil, line: number))
                continue
            }
            let json: JSONValue
            do {
                json = try JSONValue.parse(Array(line.utf8), source: path)
            } catch {
                throw ManifestError.badLine(path: path, line: number, reason: "not a JSON object")
            }
            guard json.objectMembers != nil else { throw ManifestError.badLine(path: path, line: number, reason: "not a JSON object") }
            guard let audio = json[Key.audio]?.stringValue, !audio.isEmpty else {
                throw ManifestError.badLine(path: path, line: number, reason: "needs a string '\(Key.audio)' path")
            }
            func optionalString(_ key: String) throws -> String? {
                guard let value = json[key], !value.isNull else { return nil }
                guard let text = value.stringValue else {
                    throw ManifestError.badLine(path: path, line: number, reason: "'\(key)' must be a string")
                }
                return text
            }
            entries.append(ManifestEntry(audio: audio, path: resolved(audio), text: try optionalString(Key.text),
                                         label: try optionalString(Key.label), line: number))
        }
        return entries
    }
}

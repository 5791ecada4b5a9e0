import Foundation
import UniSpeechCore

/// A HuggingFace hub cache laid out as huggingface_hub writes it (file_download.py, _snapshot_download.py):
/// `models--ORG--NAME/blobs/<sha256>` holds each file's bytes once, `snapshots/<commit>/<file>` is a relative symlink
/// `../../blobs/<sha256>`, and `refs/<ref>` a file holding the commit hash (no newline).
public struct FakeHubCache {
    public let root: String

    /// A cache rooted at `root` (created when missing).
    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// The repository directory of `ORG/NAME`.
    public func repository(_ id: String) -> String { root + "/models--" + id.replacingOccurrences(of: "/", with: "--") }

    /// A made-up commit hash: 40 lowercase hex digits from `seed`.
    public static func commit(_ seed: Int) -> String {
        String(repeating: String(format: "%08x", UInt32(truncatingIfNeeded: seed &* 2_654_435_761)), count: 5)
    }

    /// Stores every file of `directory` (a model directory) as the snapshot `commit` of `id`, pointed to by `refs`
    /// (ref names such as "main"); returns the snapshot directory.
    @discardableResult
    public func add(_ id: String, commit: String, from directory: String, refs: [String] = ["main"]) throws -> String {
        let manager = FileManager.default
        let repository = repository(id), snapshot = repository + "/snapshots/" + commit
        try manager.createDirectory(atPath: repository + "/blobs", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        for name in try manager.contentsOfDirectory(atPath: directory).sorted() {
            let digest = try SHA256.hexDigest(ofFile: directory + "/" + name)
            let blob = repository + "/blobs/" + digest
            if !manager.fileExists(atPath: blob) { try manager.copyItem(atPath: directory + "/" + name, toPath: blob) }
            try manager.createSymbolicLink(atPath: snapshot + "/" + name, withDestinationPath: "../../blobs/" + digest)
        }
        for ref in refs { try setRef(ref, of: id, to: commit) }
        return snapshot
    }

    /// Writes `refs/<ref>` of `id` holding `text`.
    public func setRef(_ ref: String, of id: String, to text: String) throws {
        let path = repository(id) + "/refs/" + ref
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}

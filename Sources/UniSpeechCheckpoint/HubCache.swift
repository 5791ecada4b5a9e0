import Foundation

/// Why a model id could not be resolved in the local HuggingFace cache.
public enum HubCacheError: LocalizedError, Equatable {
    case notCached(id: String, tried: [String])
    case invalidRevision(id: String, revision: String)
    case badReference(path: String)

    public var errorDescription: String? {
        switch self {
        case let .notCached(id, tried):
            return "\(id): no such file or directory, and not in the local HuggingFace cache (tried \(tried.joined(separator: ", "))); nothing is downloaded"
        case let .invalidRevision(id, revision):
            return "\(id): revision '\(revision)' is neither a commit hash (40 hex digits) nor a ref name (letters, digits, '.', '_', '-' in '/'-separated parts)"
        case let .badReference(path):
            return "\(path): does not hold a commit hash (40 hex digits)"
        }
    }
}

/// A Hub model id as a command line gives it: `ORG/NAME`, optionally `@REVISION` (a branch or tag name, or a commit
/// hash). The parts follow huggingface_hub's `validate_repo_id` (letters, digits, '-', '_', '.'; no "--" or "..";
/// neither starting nor ending with '-' or '.'; at most 96 characters), so an id never names a path outside the cache.
public struct HubModelID: Sendable, Equatable {
    public let organization: String
    public let name: String
    /// The branch, tag or commit asked for; `main` when none is given.
    public let revision: String

    /// The branch a cache's `refs/` holds for an id without a revision.
    public static let defaultRevision = "main"
    /// The longest organization or model name.
    static let longestPart = 96

    /// The id in `text`, nil when it does not have the shape `ORG/NAME[@REVISION]` (then it is only a path); an id
    /// with a revision that is not a ref name or commit hash is an error.
    public init?(parsing text: String) throws {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let repository = parts[0].split(separator: "/", omittingEmptySubsequences: false)
        guard repository.count == 2, repository.allSatisfy(Self.isValidPart) else { return nil }
        organization = String(repository[0])
        name = String(repository[1])
        revision = parts.count == 2 ? String(parts[1]) : Self.defaultRevision
        guard Self.isCommitHash(revision) || Self.isRefName(revision) else {
            throw HubCacheError.invalidRevision(id: text, revision: revision)
        }
    }

    /// The repository's directory in a cache: `models--ORG--NAME`.
    public var cacheDirectoryName: String { ["models", organization, name].joined(separator: "--") }

    /// huggingface_hub's commit hash: 40 lowercase hex digits.
    static func isCommitHash(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func isValidPart(_ part: Substring) -> Bool {
        guard !part.isEmpty, part.count <= longestPart, part.allSatisfy(isNameCharacter) else { return false }
        let edges: Set<Character> = ["-", "."]
        return !edges.contains(part.first!) && !edges.contains(part.last!) && !part.contains("--") && !part.contains("..")
            && !part.hasSuffix(".git")
    }

    /// A branch or tag as `refs/` stores it: '/'-separated parts, none empty, "." or "..".
    private static func isRefName(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && $0.allSatisfy(isNameCharacter) }
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_" || character == ".")
    }
}

/// The local HuggingFace hub caches, searched for model ids as huggingface_hub lays them out: a ref name resolves
/// through `<root>/models--ORG--NAME/refs/<ref>` (a file holding the commit hash) to
/// `<root>/models--ORG--NAME/snapshots/<hash>/`, whose files are symlinks into `blobs/`; a commit hash names its
/// snapshot directly. Nothing is downloaded. The roots are values: the command line derives them from the
/// environment (HF_HUB_CACHE, HF_HOME ...).
public struct HubCache: Sendable {
    /// The cache directories, searched in order.
    public let roots: [String]

    public init(roots: [String]) { self.roots = roots }

    /// The path to open for `reference`: itself when a file or directory of that name exists or when it is not a model
    /// id, else the snapshot directory of the id in the first root that holds it.
    public func resolve(_ reference: String) throws -> String {
        let manager = FileManager.default
        guard !manager.fileExists(atPath: reference), let id = try HubModelID(parsing: reference) else { return reference }
        var tried = [reference]
        for root in roots {
            let repository = root + "/" + id.cacheDirectoryName
            var hash = id.revision
            if !HubModelID.isCommitHash(hash) {
                let refPath = repository + "/refs/" + id.revision
                guard let data = manager.contents(atPath: refPath) else {
                    tried.append(refPath)
                    continue
                }
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard HubModelID.isCommitHash(text) else { throw HubCacheError.badReference(path: refPath) }
                hash = text
            }
            let snapshot = repository + "/snapshots/" + hash
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: snapshot, isDirectory: &isDirectory), isDirectory.boolValue { return snapshot }
            tried.append(snapshot)
        }
        throw HubCacheError.notCached(id: reference, tried: tried)
    }
}

import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

/// Model ids resolved in a fake hub cache built as huggingface_hub builds it (snapshot files are symlinks into blobs/).
@Suite struct HubCacheTests {
    static let id = "facebook/wav2vec2-base-960h"
    static let model = Fixtures.path("family/wav2vec2_cls_group_mask")

    @Test func idResolvesThroughRefsMainToTheSnapshot() throws {
        let scratch = try ScratchDirectory("hub")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        let snapshot = try cache.add(Self.id, commit: FakeHubCache.commit(1), from: Self.model)
        let resolved = try HubCache(roots: [cache.root]).resolve(Self.id)
        #expect(resolved == snapshot)
        #expect(resolved == cache.root + "/models--facebook--wav2vec2-base-960h/snapshots/" + FakeHubCache.commit(1))
        // The readers follow the snapshot's symlinks into blobs/.
        let destination = try FileManager.default.destinationOfSymbolicLink(atPath: resolved + "/model.safetensors")
        #expect(destination.hasPrefix("../../blobs/"))
        let checkpoint = try HFCheckpoint.open(directory: resolved)
        #expect(checkpoint.weights.source.tensors.count == (try HFCheckpoint.open(directory: Self.model)).weights.source.tensors.count)
        #expect(checkpoint.sidecars.preprocessorConfig != nil)
    }

    @Test func revisionNamesARefOrACommit() throws {
        let scratch = try ScratchDirectory("hub")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        let old = try cache.add(Self.id, commit: FakeHubCache.commit(1), from: Self.model, refs: ["v1.0", "refs/pr/3"])
        let new = try cache.add(Self.id, commit: FakeHubCache.commit(2), from: Self.model)
        let hub = HubCache(roots: [cache.root])
        #expect(try hub.resolve(Self.id) == new)
        #expect(try hub.resolve(Self.id + "@main") == new)
        #expect(try hub.resolve(Self.id + "@v1.0") == old)
        #expect(try hub.resolve(Self.id + "@refs/pr/3") == old)
        // A commit hash names its snapshot without a ref.
        let unreferenced = try cache.add(Self.id, commit: FakeHubCache.commit(3), from: Self.model, refs: [])
        #expect(try hub.resolve(Self.id + "@" + FakeHubCache.commit(3)) == unreferenced)
    }

    @Test func laterRootsAreSearchedInOrder() throws {
        let scratch = try ScratchDirectory("hub")
        let empty = try FakeHubCache(root: scratch.file("empty"))
        let cache = try FakeHubCache(root: scratch.file("hub"))
        let snapshot = try cache.add(Self.id, commit: FakeHubCache.commit(1), from: Self.model)
        #expect(try HubCache(roots: [empty.root, cache.root]).resolve(Self.id) == snapshot)
    }

    @Test func missingIdNamesEveryPathTried() throws {
        let scratch = try ScratchDirectory("hub")
        let first = try FakeHubCache(root: scratch.file("one")), second = try FakeHubCache(root: scratch.file("two"))
        // In the second cache the ref exists but its snapshot does not (an interrupted download).
        try second.setRef("main", of: Self.id, to: FakeHubCache.commit(7))
        let hub = HubCache(roots: [first.root, second.root])
        let tried = [Self.id, first.repository(Self.id) + "/refs/main", second.repository(Self.id) + "/snapshots/" + FakeHubCache.commit(7)]
        #expect(throws: HubCacheError.notCached(id: Self.id, tried: tried)) { try hub.resolve(Self.id) }
        let hash = FakeHubCache.commit(9)
        #expect(throws: HubCacheError.notCached(id: Self.id + "@" + hash, tried: [
            Self.id + "@" + hash, first.repository(Self.id) + "/snapshots/" + hash, second.repository(Self.id) + "/snapshots/" + hash,
        ])) { try hub.resolve(Self.id + "@" + hash) }
        let message = HubCacheError.notCached(id: Self.id, tried: tried).errorDescription!
        #expect(!message.contains("\n"))
        for path in tried { #expect(message.contains(path)) }
    }

    @Test func anExistingPathWinsOverAnId() throws {
        let scratch = try ScratchDirectory("hub")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        try cache.add("Tests/Fixtures", commit: FakeHubCache.commit(1), from: Self.model)
        // The tests run in the package root, where Tests/Fixtures is a directory: it is taken as the path it names.
        try #require(FileManager.default.fileExists(atPath: "Tests/Fixtures"))
        #expect(try HubCache(roots: [cache.root]).resolve("Tests/Fixtures") == "Tests/Fixtures")
    }

    /// Strings that are not ids stay paths (the caller then says "no such file"), even when a cache directory a
    /// careless resolver would reach exists; an id with a revision that could leave the cache is an error.
    @Test(arguments: ["../x", "/abs/x", "/x", "x/", "./x", "org/..", "org/.", "../..", "org/na..me", "org/-name", "org/name.",
                      "org--evil/name", "a/b/c", "org/name.git", "", "/", "org/", "orgé/name",
                      String(repeating: "a", count: 97) + "/name"])
    func stringsThatAreNotIdsStayPaths(_ text: String) throws {
        let scratch = try ScratchDirectory("hub")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        for id in ["../x", "x/", "org/..", "org/-name", "org--evil/name"] {
            try cache.add(id, commit: FakeHubCache.commit(1), from: Self.model)
        }
        #expect(try HubModelID(parsing: text) == nil)
        #expect(try HubCache(roots: [cache.root]).resolve(text) == text)
    }

    @Test(arguments: ["../../etc", "..", ".", "main/../../x", "/abs", "", "refs//pr", "a b", "main\n", "tag/./x"])
    func revisionsThatCouldLeaveTheCacheAreRefused(_ revision: String) throws {
        let scratch = try ScratchDirectory("hub")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        try cache.add(Self.id, commit: FakeHubCache.commit(1), from: Self.model)
        let text = Self.id + "@" + revision
        #expect(throws: HubCacheError.invalidRevision(id: text, revision: revision)) { try HubCache(roots: [cache.root]).resolve(text) }
    }

    @Test func aRefThatDoesNotHoldACommitHashIsRefused() throws {
        let scratch = try ScratchDirectory("hub")
        let cache = try FakeHubCache(root: scratch.file("hub"))
        try cache.add(Self.id, commit: FakeHubCache.commit(1), from: Self.model)
        try cache.setRef("main", of: Self.id, to: "../../../models--other--model/snapshots/x")
        #expect(throws: HubCacheError.badReference(path: cache.repository(Self.id) + "/refs/main")) {
            try HubCache(roots: [cache.root]).resolve(Self.id)
        }
        // As huggingface_hub writes it (no newline) and with one added by hand: both read.
        try cache.setRef("main", of: Self.id, to: FakeHubCache.commit(1) + "\n")
        #expect(try HubCache(roots: [cache.root]).resolve(Self.id) == cache.repository(Self.id) + "/snapshots/" + FakeHubCache.commit(1))
    }
}

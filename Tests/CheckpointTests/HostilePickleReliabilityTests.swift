import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

/// One checkpoint of Tests/Fixtures/hostile (see scripts/make_hostile_fixtures.py and its manifest.json):
/// a pickle that runs `touch <marker>` under Python's pickle.
struct HostileCheckpoint: CustomTestStringConvertible, Sendable {
    let name: String
    /// `module.name` the reader must refuse, or nil for a file that must not be unpickled at all.
    let refusedGlobal: String?
    let marker: String
    var testDescription: String { name }
    var path: String { Fixtures.path("hostile/\(name).bin") }

    static let all: [HostileCheckpoint] = {
        let manifest = try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: Fixtures.path("hostile/manifest.json"))!),
                                            source: "manifest.json")
        return manifest.objectMembers!.map { name, entry in
            HostileCheckpoint(name: name, refusedGlobal: entry["refused_global"]?.stringValue, marker: entry["marker"]!.stringValue!)
        }
    }()

    /// Removes a marker left by anything else, so its absence afterwards means nothing ran.
    func clearMarker() { unlink(marker) }
    var markerExists: Bool { FileManager.default.fileExists(atPath: marker) }
}

@Suite struct HostilePickleReliabilityTests {
    @Test func everyPayloadIsCoveredAndProvenToRunUnderPython() throws {
        let manifest = try JSONValue.parse([UInt8](FileManager.default.contents(atPath: Fixtures.path("hostile/manifest.json"))!),
                                           source: "manifest.json")
        #expect(HostileCheckpoint.all.count == 10)
        for (name, entry) in manifest.objectMembers! where entry["refused_global"]?.stringValue != nil {
            #expect(entry["executes_under_python_pickle"]?.boolValue == true, "\(name) was shown to run under pickle.loads")
        }
    }

    @Test(arguments: HostileCheckpoint.all)
    func readerRefusesByNameAndRunsNothing(_ hostile: HostileCheckpoint) throws {
        hostile.clearMarker()
        do {
            let reader = try TorchZipReader(path: hostile.path)
            Issue.record("accepted \(hostile.name): \(reader.tensors)")
        } catch let error as PickleError {
            #expect(error == .refusedGlobal(source: hostile.path, name: hostile.refusedGlobal ?? "?"))
        } catch let error as TorchCheckpointError {
            #expect(hostile.refusedGlobal == nil && error == .legacyFormat(path: hostile.path), "\(error)")
        }
        #expect(!hostile.markerExists, "the payload of \(hostile.name) did not run")
    }

    @Test(arguments: HostileCheckpoint.all)
    func inspectExitsWithStatus2NamingTheGlobal(_ hostile: HostileCheckpoint) throws {
        hostile.clearMarker()
        let result = try CLI.run(["inspect", hostile.path])
        #expect(!result.crashed && result.status == 2)
        #expect(result.stderrLines.count == 1, "one error line: \(result.stderr)")
        let expected = hostile.refusedGlobal.map { "refusing pickle global '\($0)'" } ?? "legacy PyTorch format"
        #expect(result.stderr.contains(hostile.path) && result.stderr.contains(expected), "\(result.stderr)")
        #expect(!hostile.markerExists, "the payload of \(hostile.name) did not run")
    }

    @Test(arguments: HostileCheckpoint.all)
    func convertRefusesAndWritesNothing(_ hostile: HostileCheckpoint) throws {
        hostile.clearMarker()
        let scratch = try ScratchDirectory("hostile")
        defer { scratch.remove() }
        let model = scratch.file("model")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: hostile.path, toPath: model + "/pytorch_model.bin")
        try scratch.write("model/config.json", "{}")
        let result = try CLI.run(["convert", model, "-o", scratch.file("out.unispeech")])
        #expect(!result.crashed && result.status == 2, "\(result.stderr)")
        let expected = hostile.refusedGlobal.map { "refusing pickle global '\($0)'" } ?? "legacy PyTorch format"
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(try scratch.entries() == ["model"], "no output or temporary file")
        #expect(!hostile.markerExists, "the payload of \(hostile.name) did not run")
    }
}

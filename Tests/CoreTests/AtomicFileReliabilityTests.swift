import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore

@Suite struct AtomicFileReliabilityTests {
    private struct Interrupted: Error {}

    @Test func writesTheWholeFileAndLeavesNoTemporary() throws {
        let scratch = try ScratchDirectory("atomic")
        defer { scratch.remove() }
        let path = scratch.file("out.bin")
        try AtomicFile.write(to: path) { sink in
            try sink.write([1, 2, 3])
            try sink.pad(to: 64)
            try sink.write([9])
            #expect(sink.offset == 65)
        }
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written.count == 65)
        #expect(Array(written.prefix(3)) == [1, 2, 3] && written[64] == 9 && written[3..<64].allSatisfy { $0 == 0 })
        #expect(try scratch.entries() == ["out.bin"])
    }

    @Test func chunkedWriteShowsEveryByteOnceInOrder() throws {
        let scratch = try ScratchDirectory("atomic")
        defer { scratch.remove() }
        let path = scratch.file("out.bin")
        // Past one chunk and the writeback interval, with a ragged end.
        let count = FileSink.writebackBytes + FileSink.chunkBytes / 2 + 3
        let bytes = TensorBytes(values: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12) })
        var seen: [UInt8] = []
        var crc: UInt32 = 0
        try AtomicFile.write(to: path) { sink in
            try sink.write([5])
            try sink.write(bytes) { chunk in
                #expect(chunk.count <= FileSink.chunkBytes)
                seen += chunk
                crc = CRC32.update(crc, chunk)
            }
            #expect(sink.offset == count + 1)
        }
        #expect(seen == bytes.array)
        #expect(crc == CRC32.checksum(bytes))
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written == [5] + bytes.array)
    }

    @Test func errorInTheMiddleLeavesNoOutput() throws {
        let scratch = try ScratchDirectory("atomic")
        defer { scratch.remove() }
        let path = scratch.file("out.bin")
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: path) { sink in
                try sink.write([UInt8](repeating: 7, count: 1 << 20))
                throw Interrupted()
            }
        }
        #expect(try scratch.entries().isEmpty, "neither the output nor a temporary file remains")
    }

    @Test func errorKeepsTheOldFileIntact() throws {
        let scratch = try ScratchDirectory("atomic")
        defer { scratch.remove() }
        let path = try scratch.write("out.bin", "old contents")
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: path) { sink in
                try sink.write(Array("new".utf8))
                throw Interrupted()
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old contents")
        #expect(try scratch.entries() == ["out.bin"])
    }

    @Test func replacesAnExistingFileWhole() throws {
        let scratch = try ScratchDirectory("atomic")
        defer { scratch.remove() }
        let path = try scratch.write("out.bin", String(repeating: "x", count: 1000))
        try AtomicFile.write(to: path) { try $0.write(Array("short".utf8)) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "short")
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o644)
    }

    @Test(arguments: ["same path", "other spelling", "symlink", "hard link"])
    func refusesToOverwriteAnInput(_ alias: String) throws {
        let scratch = try ScratchDirectory("atomic")
        defer { scratch.remove() }
        let input = try scratch.write("model.unispeech", "input bytes")
        let target: String
        switch alias {
        case "same path": target = input
        case "other spelling": target = scratch.path + "/./sub/../model.unispeech"
        case "symlink":
            target = scratch.file("link.unispeech")
            try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: input)
        default:
            target = scratch.file("hard.unispeech")
            try FileManager.default.linkItem(atPath: input, toPath: target)
        }
        try FileManager.default.createDirectory(atPath: scratch.file("sub"), withIntermediateDirectories: true)
        var ran = false
        #expect(throws: OutputFileError.sameAsInput(path: target)) {
            try AtomicFile.write(to: target, inputs: [input]) { _ in ran = true }
        }
        #expect(!ran, "nothing is written before the check")
        #expect(try String(contentsOfFile: input, encoding: .utf8) == "input bytes")
    }

    @Test func missingDirectoryIsAClearError() throws {
        let scratch = try ScratchDirectory("atomic")
        defer { scratch.remove() }
        let path = scratch.file("no/such/dir/out.bin")
        do {
            try AtomicFile.write(to: path) { try $0.write([1]) }
            Issue.record("wrote into a missing directory")
        } catch let error as OutputFileError {
            guard case let .cannotCreate(failedPath, reason) = error else { Issue.record("unexpected \(error)"); return }
            #expect(failedPath == path && reason == "No such file or directory")
        }
    }
}

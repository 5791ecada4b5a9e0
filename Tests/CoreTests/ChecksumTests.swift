import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore

@Suite struct ChecksumTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(TensorBytes(copying: Array("123456789".utf8))) == 0xCBF4_3926)
        #expect(CRC32.hex(0x0000_00AB) == "000000ab")
    }

    @Test func sha256MatchesPythonHashlib() throws {
        func digest(_ bytes: [UInt8], chunk: Int) -> String {
            var hasher = SHA256()
            var offset = 0
            repeat {
                let end = min(offset + chunk, bytes.count)
                bytes[offset..<end].withUnsafeBytes { hasher.update($0) }
                offset = end
            } while offset < bytes.count
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        // Expected digests from Python's hashlib.sha256.
        #expect(digest([], chunk: 1) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest(Array("abc".utf8), chunk: 1) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_003)
        #expect(digest(long, chunk: 4099) == "cf5f310cac13bb0f1de288d09940e8ee441e8d5d88b0fd4ec6021c405fda8c8c")
        let recorded = try JSONValue.parse([UInt8](FileManager.default.contents(atPath: Fixtures.path("format/sha256.json"))!), source: "sha256.json")
        #expect(try SHA256.hexDigest(ofFile: Fixtures.path("format/tiny-ctc/model.safetensors"))
                == recorded["tiny-ctc/model.safetensors"]?.stringValue)
    }
}

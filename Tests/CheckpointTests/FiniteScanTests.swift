import Foundation
import Testing
import TestSupport
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore

@Suite struct FiniteScanTests {
    @Test func scansASafetensorsFile() throws {
        let scratch = try ScratchDirectory("finite")
        defer { scratch.remove() }
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        let path = try scratch.write("nan.safetensors",
                                     SafetensorsBytes.file(header: header, data: SafetensorsBytes.floats([1, 2, 3, .nan])))
        let found = try FiniteCheck.scan(SafetensorsReader(path: path))
        #expect(found == [NonFiniteCount(name: "b", nan: 1, infinite: 0, firstIndex: 1)])
        #expect(found.first?.summary == "b: 1 NaN, 0 Inf (first at index 1)")
    }
}

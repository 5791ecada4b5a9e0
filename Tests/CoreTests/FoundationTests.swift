import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore

@Suite struct JSONTests {
    @Test func parsesAndWritesRoundTrip() throws {
        let text = #"{"b": [1, 2.5, "x", null, true], "a": {"z": -3}}"#
        let value = try JSONValue.parse(text, source: "t.json")
        #expect(value["b"]?.arrayValue?.count == 5)
        #expect(value["a"]?["z"]?.intValue == -3)
        #expect(value.objectMembers?.map(\.key) == ["b", "a"])
        #expect(try JSONValue.parse(value.serialized(), source: "again") == value)
    }

    @Test func writesShortestNumbersAndNoNaN() throws {
        #expect(JSONValue.array([.double(0.1), .double(1e-7), .double(2), .double(.nan)]).serialized() == "[0.1,1e-07,2.0,null]")
    }

    @Test func rejectsBrokenText() {
        #expect(throws: JSONError.self) { try JSONValue.parse(#"{"a": "#, source: "t.json") }
        #expect(throws: JSONError.self) { try JSONValue.parse(#"{"a": 1} x"#, source: "t.json") }
        #expect(throws: JSONError.self) { try JSONValue.parse("", source: "t.json") }
    }
}

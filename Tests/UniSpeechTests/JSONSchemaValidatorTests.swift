import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechAudio
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore
@testable import UniSpeechFormat
@testable import UniSpeechKernels
@testable import UniSpeechModels

@Suite struct JSONSchemaValidatorTests {
    static let schema = try! JSONValue.parse(#"""
    {
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["name", "count", "tensors"],
      "additionalProperties": false,
      "properties": {
        "name": {"type": "string", "minLength": 1},
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "mode": {"enum": ["a", "b"]},
        "version": {"const": 1},
        "tensors": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/tensor"}},
        "extra": {"type": "object", "propertyNames": {"pattern": "^[a-z]$"}, "additionalProperties": {"type": "number"}},
        "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "some": {"anyOf": [{"type": "null"}, {"type": "boolean"}]}
      },
      "$defs": {
        "tensor": {
          "type": "object",
          "required": ["dtype", "shape"],
          "properties": {
            "dtype": {"type": "string", "pattern": "^[a-z0-9]+$"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}}
          }
        }
      }
    }
    """#, source: "test schema")

    static func errors(_ text: String) -> [String] {
        JSONSchemaValidator(schema: schema).validate(try! JSONValue.parse(text, source: "instance"))
    }

    @Test func acceptsAValidDocument() {
        let errors = Self.errors(#"""
        {"name": "x", "count": 3.0, "mode": "b", "version": 1.0, "tensors": [{"dtype": "f32", "shape": [2, 3]}],
         "extra": {"a": 1, "b": 2.5}, "either": 4, "some": null}
        """#)
        #expect(errors == [])
    }

    @Test func reportsEachViolationWithItsPointer() {
        let errors = Self.errors(#"""
        {"name": "", "count": 11, "mode": "c", "version": 2, "tensors": [{"dtype": "F32", "shape": [-1]}],
         "extra": {"a": "s", "bc": 1}, "either": 1.5, "some": 3, "unknown": 0}
        """#)
        let expectedPointers = ["/name", "/count", "/mode", "/version", "/tensors/0/dtype", "/tensors/0/shape/0",
                                "/extra/a", "/extra/bc", "/either", "/some", "/"]
        for pointer in expectedPointers {
            #expect(errors.contains { $0.hasPrefix(pointer + ":") }, "no error at \(pointer) in \(errors)")
        }
        #expect(errors.contains { $0.contains("'unknown' is not allowed") })
    }

    @Test func requiredTypesAndItemCounts() {
        let errors = Self.errors(#"{"name": 5, "tensors": []}"#)
        #expect(errors.contains("/: missing required property 'count'"))
        #expect(errors.contains { $0.hasPrefix("/name: expected type string") })
        #expect(errors.contains { $0.hasPrefix("/tensors: array has 0 items") })
    }

    @Test func oneOfRejectsAmbiguousMatches() {
        let schema = try! JSONValue.parse(#"{"oneOf": [{"type": "number"}, {"type": "integer"}]}"#, source: "s")
        #expect(JSONSchemaValidator(schema: schema).validate(.int(3)).count == 1)
        #expect(JSONSchemaValidator(schema: schema).validate(.double(3.5)) == [])
    }

    @Test func refusesUnsupportedKeywordsAndBadRefs() {
        let schema = try! JSONValue.parse(##"{"uniqueItems": true, "properties": {"a": {"$ref": "#/$defs/missing"}}}"##, source: "s")
        let errors = JSONSchemaValidator(schema: schema).validate(try! JSONValue.parse(#"{"a": 1}"#, source: "i"))
        #expect(errors.contains { $0.contains("unsupported keyword 'uniqueItems'") })
        #expect(errors.contains { $0.hasPrefix("/a: unresolvable $ref") })
    }

    @Test func booleanSchemas() {
        #expect(JSONSchemaValidator(schema: .bool(true)).validate(.string("x")) == [])
        #expect(JSONSchemaValidator(schema: .bool(false)).validate(.null).count == 1)
    }
}

import Foundation
import Testing
import TestSupport
@testable import UniSpeech

@Suite struct ConversionReportTests {
    static let schema = try! JSONSchemaValidator(path: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas/convert-output.schema.json").path)

    /// `convert --json` and `quantize --json` follow schemas/convert-output.schema.json and list exactly the tensors
    /// the file stores in fewer bits than f32.
    @Test(arguments: [WeightFormat.f32, .f16, .int8])
    func convertAndQuantizeReportsFollowTheSchema(format: WeightFormat) throws {
        let scratch = try ScratchDirectory("convert-json")
        let converted = try NativeConversion.convert(hfDirectory: Fixtures.path("format/tiny-ctc"), to: scratch.file("c.unispeech"),
                                                     format: format)
        #expect(Self.schema.validate(converted.json) == [])
        let stored = try NativeReader(path: scratch.file("c.unispeech")).tensors.filter { $0.dtype != .f32 }.map(\.name)
        #expect(converted.json["quantized"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == stored)
        guard format != .f32 else { return }
        let quantized = try NativeConversion.quantize(native: scratch.file("c.unispeech"), to: scratch.file("q.unispeech"), format: .int8)
        #expect(Self.schema.validate(quantized.json) == [])
        #expect(quantized.json["weight_format"]?.stringValue == "int8")
    }
}

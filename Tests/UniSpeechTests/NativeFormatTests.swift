import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechAudio
@testable import UniSpeechCheckpoint
@testable import UniSpeechCore
@testable import UniSpeechFormat
@testable import UniSpeechKernels
@testable import UniSpeechModels

enum FormatFixtures {
    static let ctc = Fixtures.path("format/tiny-ctc")
    static let pretraining = Fixtures.path("format/tiny-pretraining")

    /// sha256 of each fixture file, recorded by scripts/make_format_fixtures.py with Python's hashlib.
    static func recordedSHA256() throws -> JSONValue {
        try JSONValue.parse([UInt8](FileManager.default.contents(atPath: Fixtures.path("format/sha256.json"))!), source: "sha256.json")
    }
}

@Suite struct NativeRoundTripTests {
    @Test func f32ConversionKeepsEveryTensorAndTheMetadata() throws {
        let scratch = try ScratchDirectory("format")
        let output = scratch.file("ctc.unispeech")
        let result = try NativeConversion.convert(hfDirectory: FormatFixtures.ctc, to: output, format: .f32)
        #expect(result.reports.isEmpty)

        let checkpoint = try HFCheckpoint.open(directory: FormatFixtures.ctc)
        let weights = try CanonicalTensorSource(checkpoint.weights.source, family: .unispeech)
        let reader = try NativeReader(path: output)
        try reader.checkChecksums()
        #expect(reader.header.architecture == "UniSpeechForCTC")
        #expect(reader.header.weightFormat == .f32)
        #expect(reader.header.config == checkpoint.config)
        #expect(reader.header.sidecars == checkpoint.sidecars)
        #expect(reader.header.sidecars.vocabulary != nil)
        #expect(reader.tensors == weights.tensors)
        for info in weights.tensors {
            let stored = try reader.bytes(of: info.name)
            #expect(stored.array == (try weights.bytes(of: info.name)).array, "\(info.name) bytes differ")
            #expect(stored.isAligned(to: NativeFormat.alignment), "\(info.name) is not 64-byte aligned in memory")
        }

        let recorded = try FormatFixtures.recordedSHA256()
        let files = reader.header.source["files"]?.arrayValue ?? []
        #expect(files.compactMap { $0["name"]?.stringValue }.sorted()
                == ["config.json", "model.safetensors", "preprocessor_config.json", "vocab.json"])
        for file in files {
            let name = file["name"]!.stringValue!
            #expect(file["sha256"]?.stringValue == recorded["tiny-ctc/\(name)"]?.stringValue, "sha256 of \(name)")
        }
    }

    @Test func f16StoresTheTableTensorsHalvedAndTheRestExactly() throws {
        let scratch = try ScratchDirectory("format")
        let output = scratch.file("ctc-f16.unispeech")
        let result = try NativeConversion.convert(hfDirectory: FormatFixtures.ctc, to: output, format: .f16)
        let source = try CanonicalTensorSource(HFCheckpoint.open(directory: FormatFixtures.ctc).weights.source, family: .unispeech)
        let reader = try NativeReader(path: output)
        try reader.checkChecksums()
        #expect(reader.header.weightFormat == .f16)
        var halved = 0
        for info in source.tensors {
            let expected = QuantizationRule.storage(for: info.name, format: .f16)
            #expect(reader.info(info.name)?.dtype == expected.dtype, "\(info.name)")
            let original = try source.floats(info.name)
            let stored = try reader.floats(info.name)
            if expected == .f16 {
                halved += 1
                // f16 keeps 11 significant bits: round-to-nearest error <= 2^-11 relative (subnormals: 2^-25 absolute).
                for (a, b) in zip(original, stored) { #expect(abs(a - b) <= abs(a) * 0x1p-11 + 0x1p-25) }
            } else {
                #expect(original == stored, "\(info.name) must be exact")
            }
        }
        #expect(halved == result.reports.count)
        #expect(halved == 2 * 4 + 2 * 2 + 1 + 2 + 1, "q/k/v/out + ff x 2 layers, projection, 2 convs, pos conv")
        #expect(result.reports.allSatisfy { $0.relativeError < 0x1p-11 })
    }

    @Test func int8StoresLinearLayersAndConvsWithPerChannelScales() throws {
        let scratch = try ScratchDirectory("format")
        let output = scratch.file("pre-int8.unispeech")
        let result = try NativeConversion.convert(hfDirectory: FormatFixtures.pretraining, to: output, format: .int8)
        let source = try CanonicalTensorSource(HFCheckpoint.open(directory: FormatFixtures.pretraining).weights.source, family: .unispeech)
        let reader = try NativeReader(path: output)
        try reader.checkChecksums()
        let quantized = reader.header.tensors.filter { $0.info.dtype == .i8 }.map(\.info.name).sorted()
        let expectedNames = (["feature_projection.projection.weight", "project_hid.weight", "project_q.weight",
                              "feature_extractor.conv_layers.1.conv.weight"]
            + (0..<2).flatMap { layer in
                ["attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.out_proj",
                 "feed_forward.intermediate_dense", "feed_forward.output_dense"].map { "encoder.layers.\(layer).\($0).weight" }
            }).sorted()
        #expect(quantized == expectedNames)
        #expect(reader.info("quantizer.weight_proj.weight")?.dtype == .f32, "small head stays f32")
        #expect(reader.info("ctc_proj.weight")?.dtype == .f32, "small head stays f32")
        #expect(reader.info("feature_extractor.conv_layers.0.conv.weight")?.dtype == .f16, "one-channel first conv stays f16")
        #expect(reader.info("encoder.pos_conv_embed.conv.weight_v")?.dtype == .f16, "positional conv stays f16")

        let dequantized = DequantizedTensorSource(reader)
        #expect(dequantized.tensors.map(\.name) == source.tensors.map(\.name), "scale tensors hidden, order kept")
        for name in expectedNames {
            let info = source.info(name)!
            let original = try source.floats(name)
            let scales = try reader.floats(QuantizedTensorNaming.scaleName(of: name))
            let restored = try dequantized.floats(name)
            #expect(scales.count == info.shape[0])
            let columns = info.shape.dropFirst().reduce(1, *)  // a conv's [out, in, kernel]: one scale per out
            for (index, (a, b)) in zip(original, restored).enumerated() {
                // Symmetric rounding: |w - q * s| <= s / 2 for the row's scale s (plus f32 rounding).
                let scale = scales[index / columns]
                #expect(abs(a - b) <= scale * 0.5001, "\(name)[\(index)]")
            }
            let rowMax = (0..<info.shape[0]).map { row in original[(row * columns)..<((row + 1) * columns)].map(abs).max()! }
            for (scale, maxAbs) in zip(scales, rowMax) { #expect(abs(scale - maxAbs / 127) <= maxAbs * 1e-6) }
            let report = try #require(result.reports.first { $0.name == name })
            #expect(report.storage == .int8PerOutputChannel)
            #expect(report.maxAbsError <= scales.max()! * 0.5001)
            // Gaussian-initialised weights: per-channel int8 error is well under 2% relative.
            #expect(report.relativeError > 0 && report.relativeError < 0.02)
        }
        #expect(result.text.contains("project_hid.weight"))
    }

    @Test func quantizeOfANativeFileMatchesDirectConversion() throws {
        let scratch = try ScratchDirectory("format")
        let f32 = scratch.file("ctc.unispeech"), viaQuantize = scratch.file("ctc-q.unispeech"), direct = scratch.file("ctc-d.unispeech")
        try NativeConversion.convert(hfDirectory: FormatFixtures.ctc, to: f32, format: .f32)
        let quantized = try NativeConversion.quantize(native: f32, to: viaQuantize, format: .int8)
        try NativeConversion.convert(hfDirectory: FormatFixtures.ctc, to: direct, format: .int8)
        let a = try NativeReader(path: viaQuantize), b = try NativeReader(path: direct)
        #expect(a.header.tensors == b.header.tensors, "same table, same bytes (crc32)")
        #expect(a.header.source["kind"]?.stringValue == "unispeech")
        #expect(a.header.source["derived_from"]?["kind"]?.stringValue == "huggingface")
        #expect(a.header.sidecars.vocabulary == b.header.sidecars.vocabulary)
        #expect(quantized.reports.count == 16, "int8: 12 encoder linears + feature projection + conv 1; f16: conv 0 + pos conv")

        // Tiny fixtures: the header (config, vocabulary, table) and the f32 norms and biases weigh a lot,
        // so the int8 file is checked against a loose 55% bound here; the 30% goal is checked on a
        // full-size tensor table in `int8PlanOfABaseModelIsUnderThirtyPercent`.
        let f32Size = try NativeReader(path: f32).fileSize
        #expect(Double(a.fileSize) <= 0.55 * Double(f32Size), "int8 \(a.fileSize) vs f32 \(f32Size) bytes")
    }

    @Test func architectureComesFromTheConfigElseTheHeadTensors() {
        func tensors(_ names: [String]) -> [TensorInfo] { names.map { TensorInfo(name: $0, dtype: .f32, shape: [1]) } }
        var config = UniSpeechConfig()
        #expect(NativeConversion.architecture(config: config, tensors: tensors(["encoder.layer_norm.weight", "lm_head.weight"]))
                == "UniSpeechForCTC")
        #expect(NativeConversion.architecture(config: config, tensors: tensors(["encoder.layer_norm.weight"])) == "UniSpeechModel")
        config.architectures = ["UniSpeechForPreTraining"]
        #expect(NativeConversion.architecture(config: config, tensors: tensors(["lm_head.weight"])) == "UniSpeechForPreTraining")
    }

    @Test func int8PlanOfABaseModelIsUnderThirtyPercent() throws {
        // The tensor table of UniSpeechForCTC at the base size (hidden 768, 12 layers, 3072 inner, conv 512 x 7).
        let hidden = 768, inner = 3072
        var tensors: [TensorInfo] = []
        func add(_ name: String, _ shape: [Int]) { tensors.append(TensorInfo(name: name, dtype: .f32, shape: shape)) }
        for (index, kernel) in [10, 3, 3, 3, 3, 2, 2].enumerated() {
            add("feature_extractor.conv_layers.\(index).conv.weight", [512, index == 0 ? 1 : 512, kernel])
        }
        add("feature_extractor.conv_layers.0.layer_norm.weight", [512])
        add("feature_extractor.conv_layers.0.layer_norm.bias", [512])
        add("feature_projection.layer_norm.weight", [512])
        add("feature_projection.layer_norm.bias", [512])
        add("feature_projection.projection.weight", [hidden, 512])
        add("feature_projection.projection.bias", [hidden])
        add("encoder.pos_conv_embed.conv.weight_g", [1, 1, 128])
        add("encoder.pos_conv_embed.conv.weight_v", [hidden, hidden / 16, 128])
        add("encoder.pos_conv_embed.conv.bias", [hidden])
        add("encoder.layer_norm.weight", [hidden])
        add("encoder.layer_norm.bias", [hidden])
        for layer in 0..<12 {
            let prefix = "encoder.layers.\(layer)."
            for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                add(prefix + "attention.\(projection).weight", [hidden, hidden])
                add(prefix + "attention.\(projection).bias", [hidden])
            }
            add(prefix + "feed_forward.intermediate_dense.weight", [inner, hidden])
            add(prefix + "feed_forward.intermediate_dense.bias", [inner])
            add(prefix + "feed_forward.output_dense.weight", [hidden, inner])
            add(prefix + "feed_forward.output_dense.bias", [hidden])
            for norm in ["layer_norm", "final_layer_norm"] {
                add(prefix + "\(norm).weight", [hidden])
                add(prefix + "\(norm).bias", [hidden])
            }
        }
        add("lm_head.weight", [32, hidden])
        add("lm_head.bias", [32])
        func bytes(_ format: WeightFormat) throws -> Int {
            try NativeModelWriter.plan(tensors, format: format, source: "base").joined().reduce(0) { $0 + $1.info.byteCount }
        }
        let f32 = try bytes(.f32), f16 = try bytes(.f16), int8 = try bytes(.int8)
        #expect(f32 / 4 > 94_000_000 && f32 / 4 < 95_000_000, "94.4M parameters as in MEASURED.md")
        #expect(Double(f16) <= 0.51 * Double(f32))
        #expect(Double(int8) <= 0.30 * Double(f32), "int8 \(int8) vs f32 \(f32)")
    }
}

@Suite struct NativeWriteSafetyTests {
    @Test func refusesToOverwriteAnInputAndLeavesNoTemporaryFile() throws {
        let scratch = try ScratchDirectory("format")
        try scratch.copyFiles(of: FormatFixtures.ctc)
        let before = FileManager.default.contents(atPath: scratch.file("model.safetensors"))
        #expect(throws: OutputFileError.sameAsInput(path: scratch.file("model.safetensors"))) {
            try NativeConversion.convert(hfDirectory: scratch.path, to: scratch.file("model.safetensors"), format: .f32)
        }
        #expect(FileManager.default.contents(atPath: scratch.file("model.safetensors")) == before)
        let output = scratch.file("out.unispeech")
        try NativeConversion.convert(hfDirectory: scratch.path, to: output, format: .f32)
        #expect(throws: OutputFileError.sameAsInput(path: output)) {
            try NativeConversion.quantize(native: output, to: output, format: .int8)
        }
        #expect(try scratch.entries().filter { $0.hasPrefix(".") }.isEmpty)
    }
}

@Suite struct NativeReaderRejectionTests {
    /// A valid f32 native file of the tiny CTC fixture, its header JSON and the data section bytes.
    struct Sample {
        let scratch: ScratchDirectory
        var directory: String { scratch.path }
        let path: String
        let header: JSONValue
        let data: [UInt8]
    }

    static func makeSample() throws -> Sample {
        let scratch = try ScratchDirectory("format")
        let path = scratch.file("sample.unispeech")
        try NativeConversion.convert(hfDirectory: FormatFixtures.ctc, to: path, format: .int8)
        let reader = try NativeReader(path: path)
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let headerLength = Int(bytes[16..<24].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let dataStart = NativeFormat.aligned(NativeFormat.prefixLength + headerLength)
        return Sample(scratch: scratch, path: path, header: reader.header.json, data: Array(bytes[dataStart...]))
    }

    /// Writes prefix + `header` + padding + `data` to a new file.
    static func write(_ header: JSONValue, data: [UInt8], in directory: String, version: UInt32 = NativeFormat.version) throws -> String {
        let text = Array(header.serialized().utf8)
        var bytes = NativeWriter.prefix(header: text)
        bytes.replaceSubrange(8..<12, with: (0..<4).map { UInt8(truncatingIfNeeded: version >> (8 * UInt32($0))) })
        bytes += text
        bytes += [UInt8](repeating: 0, count: NativeFormat.aligned(bytes.count) - bytes.count)
        bytes += data
        let path = directory + "/\(UUID().uuidString).unispeech"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// `header` with tensor row `index`'s `key` set to `value`.
    static func editingRow(_ header: JSONValue, _ index: Int, _ key: String, _ value: JSONValue) -> JSONValue {
        guard case var .object(members) = header, let slot = members.firstIndex(where: { $0.key == "tensors" }),
              case var .array(rows) = members[slot].value, case var .object(row) = rows[index] else { return header }
        if let field = row.firstIndex(where: { $0.key == key }) { row[field].value = value } else { row.append((key, value)) }
        rows[index] = .object(row)
        members[slot].value = .array(rows)
        return .object(members)
    }

    @Test func acceptsTheUnchangedSample() throws {
        let sample = try Self.makeSample()
        let path = try Self.write(sample.header, data: sample.data, in: sample.directory)
        try NativeReader(path: path).checkChecksums()
    }

    @Test func rejectsWrongMagicAndNewerVersion() throws {
        let sample = try Self.makeSample()
        var bytes = [UInt8](FileManager.default.contents(atPath: sample.path)!)
        bytes[0] = UInt8(ascii: "X")
        let wrongMagic = sample.directory + "/magic.unispeech"
        _ = FileManager.default.createFile(atPath: wrongMagic, contents: Data(bytes))
        #expect(throws: NativeFormatError.notNative(path: wrongMagic)) { try NativeReader(path: wrongMagic) }

        let newer = try Self.write(sample.header, data: sample.data, in: sample.directory, version: NativeFormat.version + 1)
        #expect(throws: NativeFormatError.newerVersion(path: newer, version: NativeFormat.version + 1)) { try NativeReader(path: newer) }
    }

    @Test func rejectsBadLayouts() throws {
        let sample = try Self.makeSample()
        let rows = sample.header["tensors"]!.arrayValue!
        let last = rows.count - 1
        let lastOffset = rows[last]["offset"]!.intValue!

        let truncated = try Self.write(sample.header, data: Array(sample.data.dropLast(1)), in: sample.directory)
        #expect(throws: NativeFormatError.self) { try NativeReader(path: truncated) }

        let outside = try Self.write(Self.editingRow(sample.header, last, "offset", .int(Int64(lastOffset + 64))),
                                     data: sample.data, in: sample.directory)
        #expect(throws: NativeFormatError.self) { try NativeReader(path: outside) }

        let big = rows.firstIndex { $0["bytes"]!.intValue! > 64 }!
        let overlapping = try Self.write(Self.editingRow(sample.header, big + 1, "offset", .int(Int64(rows[big]["offset"]!.intValue! + 64))),
                                         data: sample.data, in: sample.directory)
        #expect(throws: NativeFormatError.overlap(path: overlapping, first: rows[big]["name"]!.stringValue!,
                                                   second: rows[big + 1]["name"]!.stringValue!)) { try NativeReader(path: overlapping) }

        let misaligned = try Self.write(Self.editingRow(sample.header, 1, "offset", .int(Int64(rows[1]["offset"]!.intValue! + 4))),
                                        data: sample.data, in: sample.directory)
        #expect(throws: NativeFormatError.self) { try NativeReader(path: misaligned) }

        let shapeMismatch = try Self.write(Self.editingRow(sample.header, 0, "shape", .array([.int(3)])),
                                           data: sample.data, in: sample.directory)
        #expect(throws: NativeFormatError.self) { try NativeReader(path: shapeMismatch) }

        let i8Row = rows.firstIndex { $0["dtype"]?.stringValue == "i8" }!
        let missingScale = try Self.write(Self.editingRow(sample.header, i8Row, "scale", .string("nothing.scale")),
                                          data: sample.data, in: sample.directory)
        #expect(throws: NativeFormatError.self) { try NativeReader(path: missingScale) }

        let garbage = try Self.write(.string("not an object"), data: sample.data, in: sample.directory)
        #expect(throws: NativeFormatError.badHeader(path: garbage, reason: "not a JSON object")) { try NativeReader(path: garbage) }
    }

    @Test func detectsDamagedDataOnlyWhenChecking() throws {
        let sample = try Self.makeSample()
        let rows = sample.header["tensors"]!.arrayValue!
        let target = rows[3]
        var data = sample.data
        data[target["offset"]!.intValue! + 1] ^= 0x40
        let damaged = try Self.write(sample.header, data: data, in: sample.directory)
        let reader = try NativeReader(path: damaged)
        #expect(throws: NativeFormatError.self) { try reader.checkChecksums() }
        do {
            try reader.checkChecksums()
        } catch let error as NativeFormatError {
            #expect(error.errorDescription?.contains(target["name"]!.stringValue!) == true)
            #expect(error.errorDescription?.hasPrefix(damaged) == true)
        }
    }
}

@Suite struct NativeSchemaAndInspectTests {
    static let headerSchema = try! JSONSchemaValidator(path: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas/unispeech-header.schema.json").path)

    @Test func headersFollowTheSchema() throws {
        let scratch = try ScratchDirectory("format")
        let f32 = scratch.file("ctc.unispeech"), int8 = scratch.file("ctc-int8.unispeech")
        try NativeConversion.convert(hfDirectory: FormatFixtures.ctc, to: f32, format: .f32)
        try NativeConversion.quantize(native: f32, to: int8, format: .int8)
        for path in [f32, int8] {
            // Validate the header exactly as stored in the file, not as re-serialised.
            let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
            let length = Int(bytes[16..<24].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            let header = try JSONValue.parse(Array(bytes[24..<(24 + length)]), source: path)
            #expect(Self.headerSchema.validate(header) == [], "\(path)")
        }
    }

    @Test func inspectReportsNativeFilesAndChecksTheirChecksums() throws {
        let scratch = try ScratchDirectory("format")
        let path = scratch.file("ctc-int8.unispeech")
        try NativeConversion.convert(hfDirectory: FormatFixtures.ctc, to: path, format: .int8)
        let report = InspectReport(try Inspector.open(path: path, checkChecksums: true))
        #expect(InspectTests.schema.validate(report.json()) == [])
        #expect(report.model.format == "unispeech")
        #expect(report.architecture == "UniSpeechForCTC")
        #expect(report.heads == [.base, .ctc])
        let extras = JSONValue.object(report.model.extras)
        #expect(extras["weight_format"]?.stringValue == "int8")
        #expect(extras["format_version"]?.intValue == Int(NativeFormat.version))
        #expect(extras["int8_scales"]?["weights"]?.intValue == 14, "12 encoder linears, feature projection, conv 1")
        #expect(report.bytesByDType.map(\.dtype).sorted { $0.rawValue < $1.rawValue } == [.f16, .f32, .i8])

        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count - 3] ^= 0x01
        let damaged = try scratch.write("damaged.unispeech", bytes)
        #expect(try InspectCommandTests.run(["inspect", damaged]).status == 0, "checksums are not checked on a plain load")
        let checked = try InspectCommandTests.run(["inspect", damaged, "--check"])
        #expect(checked.status == 2)
        #expect(checked.stderr.contains("damaged.unispeech") && checked.stderr.contains("crc32"))
    }
}

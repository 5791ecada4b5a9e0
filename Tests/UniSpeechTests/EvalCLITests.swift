import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCore

/// `unispeech eval` as a command: JSON and HTML outputs, and one error line (exit 2) for a manifest that does not fit.
struct EvalCLITests {
    @Test func jsonAndHTMLReports() throws {
        let scratch = try ScratchDirectory("eval-cli")
        defer { scratch.remove() }
        let html = scratch.file("report.html")
        let result = try CLI.run(["eval", Fixtures.path("eval/ctc.jsonl"), EvalGoldenTests.ctcModel, "--json", "--html", html,
                                  "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue.parse(result.stdout, source: "stdout")
        #expect(EvalGoldenTests.schema.validate(json) == [])
        #expect(json["models"]?.arrayValue?.first?["ctc"]?["wer"] == EvalGoldenTests.expected["ctc"]!["corpus"]!["wer"])
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(try MarkupTree.parse(page).all("svg", className: "waveform").count == EvalRequest.defaultPlottedUtterances)
        #expect(try scratch.entries() == ["report.html"])
    }

    @Test func aManifestThatDoesNotFitIsOneErrorLine() throws {
        let scratch = try ScratchDirectory("eval-cli")
        defer { scratch.remove() }
        let audio = EvalGoldenTests.repository.appendingPathComponent("examples/audio/word-7-zero.wav").path
        let manifest = try scratch.write("m.jsonl", "{\"audio\": \"\(audio)\", \"text\": \"zero\"}\n{\"audio\": \"\(audio)\"}\n")
        let result = try CLI.run(["eval", manifest, EvalGoldenTests.ctcModel, "--threads", "1"])
        #expect(result.status == 2 && !result.crashed)
        #expect(result.stderrLines == ["unispeech: \(manifest): line 2: needs a string 'text' to evaluate \(EvalGoldenTests.ctcModel)"])
        let valid = try scratch.write("v.jsonl", "{\"audio\": \"\(audio)\", \"text\": \"zero\"}\n")
        let overwrite = try CLI.run(["eval", valid, EvalGoldenTests.ctcModel, "--html", audio, "--threads", "1"])
        #expect(overwrite.status == 2 && overwrite.stderr.contains("refusing to overwrite an input file"))
    }
}

import Foundation
import Testing
import TestSupport
@testable import UniSpeech
@testable import UniSpeechCore
@testable import UniSpeechFormat
@testable import UniSpeechModels

/// `unispeech eval` on the committed manifests against transformers (Tests/Fixtures/eval/expected.json from
/// scripts/make_eval_golden.py), on the demo models in examples/.
struct EvalGoldenTests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static let expected: JSONValue = {
        let path = Fixtures.path("eval/expected.json")
        return try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path)
    }()
    static let schema = try! JSONSchemaValidator(path: repository.appendingPathComponent("schemas/eval-report.schema.json").path)
    static let ctcModel = repository.appendingPathComponent("examples/unispeech-digits-ctc").path
    static let classifierModel = repository.appendingPathComponent("examples/unispeech-digits-classifier").path

    /// The CTC manifest through the HF directory and its f32 and int8 .unispeech files, once for every test here.
    static let sideBySide: EvalReport = {
        let scratch = try! ScratchDirectory("eval")
        defer { scratch.remove() }
        var paths = [ctcModel]
        for format in [WeightFormat.f32, .int8] {
            let path = scratch.file("digits-ctc-\(format.rawValue).unispeech")
            _ = try! NativeConversion.convert(hfDirectory: ctcModel, to: path, format: format)
            paths.append(path)
        }
        return try! ModelEvaluator.evaluate(EvalRequest(manifestPath: Fixtures.path("eval/ctc.jsonl"), modelPaths: paths, threads: 1))
    }()

    @Test func ctcFiguresEqualTransformers() throws {
        let report = Self.sideBySide
        let golden = Self.expected["ctc"]!
        let utterances = golden["utterances"]!.arrayValue!
        #expect(report.utterances.count == utterances.count)
        for model in 0..<2 {  // the HF directory and its f32 file compute the same figures
            for (utterance, expected) in zip(report.utterances, utterances) {
                let result = try #require(utterance.results[model].ctc)
                let name = "\(report.modelName(model)) \(utterance.entry.audio)"
                // Exact: the greedy argmax has no near ties on these files and decoding equals batch_decode.
                #expect(result.hypothesis == expected["hypothesis"]!.stringValue!, "\(name)")
                #expect(result.labelIDs == expected["label_ids"]!.arrayValue!.map { $0.intValue! }, "\(name)")
                #expect(result.frames == expected["frames"]!.intValue!, "\(name)")
                // Exact: edit counts are integers.
                #expect(result.edits == EditCounts(
                    wordErrors: expected["word_errors"]!.intValue!, words: expected["words"]!.intValue!,
                    charErrors: expected["char_errors"]!.intValue!, chars: expected["chars"]!.intValue!,
                    exact: expected["exact"]!.boolValue!), "\(name)")
                let loss = try #require(result.loss)
                let goldenLoss = expected["loss"]!.doubleValue!
                // 1e-4 relative: our logits equal transformers' to about 1e-6 relative, and the loss moves by no more
                // than that. Plus transformers' own float32 rounding (log_softmax and the alpha recursion lose about
                // 2^-24 per frame; we compute in double), which dominates the losses near zero: for "one" (8.3e-5)
                // torch's float64 loss differs from its float32 one by 4.5e-4 relative. Mean reduction divides it by
                // the target length.
                let targets = result.labelIDs.filter { $0 != 0 }.count
                let bound = 1e-4 * abs(goldenLoss) + Double(result.frames) * 0x1p-24 / Double(max(targets, 1))
                #expect(abs(loss - goldenLoss) <= bound, "\(name): loss \(loss) vs \(goldenLoss)")
            }
            let summary = try #require(report.ctcSummary(model: model))
            let corpus = golden["corpus"]!
            // Exact: the ratios are quotients of equal integers.
            #expect(summary.wordErrors == corpus["word_errors"]!.intValue! && summary.words == corpus["words"]!.intValue!)
            #expect(summary.charErrors == corpus["char_errors"]!.intValue! && summary.chars == corpus["chars"]!.intValue!)
            #expect(summary.wer == corpus["wer"]!.doubleValue!)
            #expect(summary.cer == corpus["cer"]!.doubleValue!)
            #expect(summary.exactMatch == corpus["exact_match"]!.doubleValue!)
            // The mean of per-utterance losses each within the bound above: 1e-4 relative covers it (every
            // utterance's absolute term is below 3e-7, the mean loss is 2.16).
            let meanLoss = try #require(summary.meanLoss)
            #expect(abs(meanLoss - corpus["mean_loss"]!.doubleValue!) <= 1e-4 * corpus["mean_loss"]!.doubleValue!)
        }
    }

    @Test func int8FileIsComparedSideBySide() throws {
        let report = Self.sideBySide
        #expect(report.models.map(\.weights) == ["hf", "f32", "int8"])
        #expect(report.models.allSatisfy { $0.task == .ctc && $0.loss == CTCLoss(blank: 0, reduction: .mean, zeroInfinity: true) })
        // The f32 file runs the same weights: same transcripts, so it never disagrees with the HF directory.
        for utterance in report.utterances {
            #expect(utterance.results[0].ctc?.hypothesis == utterance.results[1].ctc?.hypothesis)
        }
        let int8 = try #require(report.ctcSummary(model: 2))
        #expect(int8.utterances == 9)
        #expect(report.disagreements == report.utterances.indices.filter { index in
            Set(report.utterances[index].results.compactMap { $0.ctc?.hypothesis }).count > 1
        })
        #expect(Self.schema.validate(report.json) == [])
        for model in report.models { #expect(report.text.contains(model.path)) }
    }

    @Test func classifierFiguresEqualTransformers() throws {
        let report = try ModelEvaluator.evaluate(EvalRequest(manifestPath: Fixtures.path("eval/classifier.jsonl"),
                                                             modelPaths: [Self.classifierModel], threads: 1))
        let golden = Self.expected["classifier"]!
        let summary = try #require(report.classificationSummary(model: 0))
        // Exact: labels, predictions and counts are names and integers.
        #expect(summary.labels == golden["labels"]!.arrayValue!.map { $0.stringValue! })
        for (utterance, expected) in zip(report.utterances, golden["files"]!.arrayValue!) {
            let result = try #require(utterance.results[0].classification)
            #expect(result.predicted == expected["predicted"]!.stringValue!, "\(utterance.entry.audio)")
            #expect(result.labelID == expected["label_id"]!.intValue!)
        }
        #expect(summary.correct == golden["correct"]!.intValue!)
        #expect(summary.accuracy == golden["accuracy"]!.doubleValue!)
        #expect(summary.confusion == golden["confusion"]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } })
        #expect(Self.schema.validate(report.json) == [])
        #expect(report.plotted.isEmpty)
    }
}

/// The HTML report: well-formed, self-contained, one plot per worst utterance with one span per emitted token.
struct EvalHTMLTests {
    @Test func reportIsWellFormedAndPlotsEveryToken() throws {
        let report = EvalGoldenTests.sideBySide
        let html = report.html
        let root = try MarkupTree.parse(html)
        #expect(root.name == "html")
        // Self-contained: nothing fetched, nothing run.
        #expect(root.all("script").isEmpty && root.all("link").isEmpty && root.all("img").isEmpty)
        #expect(!html.contains("src=") && !html.contains("@import") && !html.contains("url("))
        #expect(report.plotted.count == EvalRequest.defaultPlottedUtterances)
        let plots = root.all("svg", className: "waveform")
        #expect(plots.count == report.plotted.count)
        for (plot, index) in zip(plots, report.plotted) {
            let lanes = plot.all("g", className: "lane")
            #expect(lanes.map { $0.attributes["data-name"] } == report.models.indices.map(report.modelName))
            for (model, lane) in lanes.enumerated() {
                let spans = report.utterances[index].results[model].ctc!.spans
                #expect(lane.all("rect", className: "span").count == spans.count)
                #expect(!spans.isEmpty)
            }
            #expect(plot.all("path", className: "envelope").count == 1)
        }
        // Utterance table: one row per (utterance, model) plus the header.
        let tables = root.all("table")
        let utteranceTable = try #require(tables.last)
        #expect(utteranceTable.all("tr").count == 1 + report.utterances.count * report.models.count)
    }

    @Test func htmlIsWrittenAtomicallyAndNeverOverAnInput() throws {
        let report = EvalGoldenTests.sideBySide
        let scratch = try ScratchDirectory("eval-html")
        defer { scratch.remove() }
        let path = scratch.file("report.html")
        try report.writeHTML(to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == report.html)
        #expect(try scratch.entries() == ["report.html"])
        #expect(throws: OutputFileError.sameAsInput(path: report.manifestPath)) { try report.writeHTML(to: report.manifestPath) }
    }
}

/// Edits, manifests that do not fit the models, and the progress line.
struct EvalScoringTests {
    @Test func editsCompareTheTextAsWritten() {
        // Case and punctuation count: "Seven." -> "seven" is one word substitution, two character edits.
        #expect(EditCounts(reference: "Seven.", hypothesis: "seven") == EditCounts(wordErrors: 1, words: 1, charErrors: 2, chars: 6, exact: false))
        // Whitespace is normalised: leading, trailing and doubled spaces (and tabs) do not count.
        #expect(EditCounts(reference: " zero  three\t", hypothesis: "zero three")
                == EditCounts(wordErrors: 0, words: 2, charErrors: 0, chars: 10, exact: true))
        // An empty reference has no rates; every hypothesis word is an insertion.
        let empty = EditCounts(reference: "", hypothesis: "a b")
        #expect(empty == EditCounts(wordErrors: 2, words: 0, charErrors: 3, chars: 0, exact: false))
        #expect(empty.wer == nil && empty.cer == nil)
        // Code points, not grapheme clusters: a decomposed accent is two characters.
        #expect(EditCounts(reference: "cafe\u{301}", hypothesis: "caf\u{E9}").charErrors == 2)
    }

    @Test func aLineWithoutTheReferenceAModelNeedsIsAnError() throws {
        let scratch = try ScratchDirectory("eval-manifest")
        defer { scratch.remove() }
        let audio = EvalGoldenTests.repository.appendingPathComponent("examples/audio/word-7-zero.wav").path
        let manifest = try scratch.write("m.jsonl", """
            {"audio": "\(audio)", "text": "zero", "label": "zero"}
            {"audio": "\(audio)", "label": "zero"}
            """)
        #expect(throws: EvalError.missingReference(manifest: manifest, line: 2, field: "text", model: EvalGoldenTests.ctcModel)) {
            try ModelEvaluator.evaluate(EvalRequest(manifestPath: manifest, modelPaths: [EvalGoldenTests.ctcModel], threads: 1))
        }
        let unknown = try scratch.write("u.jsonl", "{\"audio\": \"\(audio)\", \"label\": \"eleven\"}\n")
        let labels = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        #expect(throws: EvalError.unknownLabel(manifest: unknown, line: 1, label: "eleven", model: EvalGoldenTests.classifierModel,
                                               labels: labels)) {
            try ModelEvaluator.evaluate(EvalRequest(manifestPath: unknown, modelPaths: [EvalGoldenTests.classifierModel], threads: 1))
        }
        #expect(throws: EvalError.directoryManifest(path: scratch.path)) {
            try ModelEvaluator.evaluate(EvalRequest(manifestPath: scratch.path, modelPaths: [EvalGoldenTests.ctcModel], threads: 1))
        }
    }

    @Test func ctcModelsAndClassifiersRunSideBySide() throws {
        let scratch = try ScratchDirectory("eval-mixed")
        defer { scratch.remove() }
        let audio = EvalGoldenTests.repository.appendingPathComponent("examples/audio").path
        let manifest = try scratch.write("m.jsonl", """
            {"audio": "\(audio)/word-7-zero.wav", "text": "zero", "label": "zero"}
            {"audio": "\(audio)/word-6-one.wav", "text": "one", "label": "seven"}
            """)
        let report = try ModelEvaluator.evaluate(EvalRequest(
            manifestPath: manifest, modelPaths: [EvalGoldenTests.ctcModel, EvalGoldenTests.classifierModel], threads: 1))
        #expect(report.models.map(\.task) == [.ctc, .classification])
        #expect(report.utterances.map { $0.results[0].ctc?.hypothesis } == ["zero", "one"])
        #expect(report.utterances.map { $0.results[1].classification?.predicted } == ["zero", "one"])
        #expect(report.classificationSummary(model: 1)?.correct == 1)
        #expect(report.disagreements.isEmpty)
        #expect(EvalGoldenTests.schema.validate(report.json) == [])
        _ = try MarkupTree.parse(report.html)
    }

    @Test func progressLinesCountFilesAndTheTimeLeft() {
        #expect(ModelEvaluator.progressLine(done: 0, total: 9, current: "a.wav", elapsed: 0) == "0/9 files done: a.wav")
        // 3 files in 30 s: 10 s each, 6 left.
        #expect(ModelEvaluator.progressLine(done: 3, total: 9, current: "d.wav", elapsed: 30) == "3/9 files done, 1:00 left: d.wav")
    }
}

/// The markup helpers verify --per-layer will reuse: escaping and the line plot of named series against stages.
struct ReportMarkupTests {
    @Test func textAndAttributesAreEscaped() throws {
        var html = HTMLBuilder()
        html.element("p", [("title", "a \"quoted\" <b> & 'x'")], text: "<script>alert(1)</script> & more")
        #expect(html.output == "<p title=\"a &quot;quoted&quot; &lt;b&gt; &amp; &#39;x&#39;\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>")
        let root = try MarkupTree.parse(html.output)
        #expect(root.attributes["title"] == "a \"quoted\" <b> & 'x'")
        #expect(root.text == "<script>alert(1)</script> & more")
    }

    @Test func linePlotHasOnePointPerStageInEverySeries() throws {
        let stages = ["feature_extractor.conv_layers.0", "feature_projection", "encoder.pos_conv_embed", "encoder.layers.0",
                      "encoder.layers.1", "encoder.layer_norm", "lm_head"]
        let series = [
            PlotSeries(name: "SQNR accumulated (dB)", values: [62, 58.5, 57, .infinity, 40, 39.5, 38]),
            PlotSeries(name: "SQNR isolated (dB)", values: [62, 61, 63, 60, .nan, 59, 61]),
            PlotSeries(name: "constant", values: Array(repeating: 5, count: 7)),
        ]
        let page = HTMLBuilder.document(title: "plot", styleSheet: ReportStyle.sheet) { body in
            SVGPlot.lines(title: "per stage", stages: stages, series: series, yLabel: "dB", into: &body)
        }
        let root = try MarkupTree.parse(page)
        let plot = try #require(root.all("svg", className: "lines").first)
        let groups = plot.all("g", className: "series")
        #expect(groups.map { $0.attributes["data-name"] } == series.map(\.name))
        for (group, item) in zip(groups, series) {
            #expect(group.all("circle", className: "point").count == stages.count)
            #expect(group.all("circle", className: "off-scale").count == item.values.filter { !$0.isFinite }.count)
        }
        // A non-finite value breaks the line: two runs for the first two series, one for the third.
        #expect(groups.map { $0.all("polyline").count } == [2, 2, 1])
        // One label per stage on the x axis.
        let labels = plot.all("text").map(\.text)
        #expect(stages.allSatisfy(labels.contains))
    }

    @Test func ticksAreRoundNumbers() {
        #expect(SVGPlot.ticks(from: 0, to: 1.81, count: 10).map { SVGPlot.tickLabel($0, step: 0.2) }
                == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1.2", "1.4", "1.6", "1.8"])
        #expect(SVGPlot.ticks(from: -3, to: 47, count: 5).map { SVGPlot.tickLabel($0, step: 10) } == ["0", "10", "20", "30", "40"])
        #expect(SVGPlot.number(12.5) == "12.5" && SVGPlot.number(3) == "3" && SVGPlot.number(2.456) == "2.46")
    }
}

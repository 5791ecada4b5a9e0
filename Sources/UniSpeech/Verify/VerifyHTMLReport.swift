import Foundation

extension VerifyReport {
    /// The report as one self-contained HTML page: the verdict, SQNR and cosine of every stage against depth
    /// (accumulated and isolated, the thresholds dashed, the first divergent stage tinted), the stage table, and
    /// the output comparisons.
    public var html: String {
        HTMLBuilder.document(title: "unispeech verify: \(candidatePath)", styleSheet: ReportStyle.sheet) { body in
            body.element("h1", text: "unispeech verify --per-layer")
            body.element("p", [("class", "meta")], text: "candidate \(candidatePath) (\(candidateFormat.rawValue)) against reference \(referencePath)")
            body.element("p", [("class", "meta")], text: "inputs: " + inputs.map { "\($0.name) (\($0.samples) samples)" }.joined(separator: ", "))
            body.element("p", [("class", "verdict")]) { verdict in
                verdict.element("span", [("class", passed ? "pass" : "fail")], text: passed ? "PASS" : "FAIL")
                if let stages {
                    let first = firstDivergentStage
                    verdict.text(" — first divergent stage: ")
                    verdict.element("span", [("class", first == nil ? "pass" : "fail mono")], text: first.map(stageLabel) ?? "none")
                    verdict.text(" (of \(stages.count) stages; isolated cosine ≥ \(ModelVerifier.threshold(thresholds.minStageCosine)), "
                                 + "SQNR ≥ \(ModelVerifier.threshold(thresholds.minStageSQNR)) dB)")
                }
            }
            if !failures.isEmpty {
                body.element("ul") { list in for failure in failures { list.element("li", [("class", "fail")], text: failure) } }
            }
            if let stages, !stages.isEmpty { stageSections(&body, stages) }
            outputSection(&body)
        }
    }

    /// Writes `html` to `path` atomically; never over a model file or an input.
    public func writeHTML(to path: String) throws {
        var inputs = audioPaths
        for model in [candidatePath, referencePath] {
            inputs.append(model)
            inputs += ((try? FileManager.default.contentsOfDirectory(atPath: model)) ?? []).map { model + "/" + $0 }
        }
        let bytes = Array(html.utf8)
        try AtomicFile.write(to: path, inputs: inputs) { try $0.write(bytes) }
    }

    private func stageSections(_ body: inout HTMLBuilder, _ stages: [StageComparison]) {
        let labels = stages.map(stageLabel)
        let highlighted = firstDivergentStage.flatMap { first in stages.firstIndex(of: first) }
        body.element("h2", text: "Stages against depth")
        body.element("p", [("class", "note")], text: """
            Accumulated: the candidate runs on its own, each stage fed its previous stage. Isolated: each stage of the \
            candidate is fed the reference's input, so its figures show the error that stage adds by itself. Padded \
            frames are left out. Points in the band marked inf are exact (no error at all); the dashed line is the threshold.
            """)
        let plots: [(title: String, measure: String, unit: String, figure: KeyPath<ErrorFigures, Double>, minimum: Double)] = [
            ("SQNR per stage (dB)", "SQNR (dB)", " dB", \.sqnr, thresholds.minStageSQNR),
            ("Cosine similarity per stage", "cosine", "", \.cosine, thresholds.minStageCosine),
        ]
        for plot in plots {
            body.element("div", [("class", "figure")]) { figure in
                SVGPlot.lines(title: plot.title, stages: labels,
                              series: [PlotSeries(name: "accumulated " + plot.measure, values: stages.map { $0.accumulated[keyPath: plot.figure] }),
                                       PlotSeries(name: "isolated " + plot.measure, values: stages.map { $0.isolated[keyPath: plot.figure] })],
                              yLabel: plot.measure,
                              guides: [PlotGuide(name: "minimum \(ModelVerifier.threshold(plot.minimum))" + plot.unit, value: plot.minimum)],
                              highlighted: highlighted, into: &figure)
            }
        }
        body.element("h2", text: "Stages")
        body.element("table", [("class", "stages")]) { table in
            table.element("tr") { row in
                row.element("th", [("rowspan", "2")], text: "#")
                row.element("th", [("rowspan", "2")], text: "stage")
                row.element("th", [("rowspan", "2")], text: "shape")
                row.element("th", [("colspan", "4")], text: "accumulated")
                row.element("th", [("colspan", "4")], text: "isolated")
            }
            table.element("tr") { row in
                for _ in 0..<2 { for name in ["cosine", "SQNR dB", "max abs err", "rel err"] { row.element("th", text: name) } }
            }
            for (index, stage) in stages.enumerated() {
                table.element("tr", index == highlighted ? [("class", "divergent")] : []) { row in
                    row.element("td", [("class", "num")], text: "\(index)")
                    row.element("td", [("class", "mono")], text: labels[index])
                    row.element("td", [("class", "mono")], text: "[" + stage.shape.map(String.init).joined(separator: ", ") + "]")
                    figureCells(&row, stage.accumulated, judged: false)
                    figureCells(&row, stage.isolated, judged: true)
                }
            }
        }
    }

    /// Four cells of figures; when `judged`, the cosine and SQNR cells are tinted by the stage thresholds.
    private func figureCells(_ row: inout HTMLBuilder, _ figures: ErrorFigures, judged: Bool) {
        func tint(_ meets: Bool) -> String { judged ? (meets ? "num right" : "num wrong") : "num" }
        row.element("td", [("class", tint(figures.cosine >= thresholds.minStageCosine))], text: String(format: "%.6f", figures.cosine))
        row.element("td", [("class", tint(figures.sqnr >= thresholds.minStageSQNR))], text: Self.decibels(figures.sqnr))
        row.element("td", [("class", "num")], text: String(format: "%.3e", figures.maxAbsError))
        row.element("td", [("class", "num")], text: String(format: "%.3e", figures.relativeError))
    }

    private func outputSection(_ body: inout HTMLBuilder) {
        body.element("h2", text: "Outputs")
        body.element("table") { table in
            table.element("tr") { row in for name in ["head", "output", "shape", "cosine", "max abs err", "rel err"] { row.element("th", text: name) } }
            for output in outputs {
                table.element("tr") { row in
                    row.element("td", text: output.head.rawValue)
                    row.element("td", [("class", "mono")], text: output.name)
                    row.element("td", [("class", "mono")], text: "[" + output.shape.map(String.init).joined(separator: ", ") + "]")
                    row.element("td", [("class", "num")], text: String(format: "%.6f", output.cosine))
                    row.element("td", [("class", "num")], text: String(format: "%.3e", output.maxAbsError))
                    row.element("td", [("class", "num")], text: String(format: "%.3e", output.relativeError))
                }
            }
        }
        if !agreements.isEmpty {
            body.element("table") { table in
                table.element("tr") { row in for name in ["argmax agreement", "agreeing", "of", "share"] { row.element("th", text: name) } }
                for agreement in agreements {
                    table.element("tr") { row in
                        row.element("td", text: agreement.kind.rawValue)
                        row.element("td", [("class", "num")], text: "\(agreement.agreeing)")
                        row.element("td", [("class", "num")], text: "\(agreement.total)")
                        row.element("td", [("class", "num")], text: String(format: "%.4f", agreement.fraction))
                    }
                }
            }
        }
        if !transcripts.isEmpty {
            body.element("table") { table in
                table.element("tr") { row in for name in ["input", "candidate transcript", "reference transcript"] { row.element("th", text: name) } }
                for transcript in transcripts {
                    table.element("tr") { row in
                        row.element("td", [("class", "mono")], text: transcript.input)
                        row.element("td", [("class", transcript.same ? "right" : "wrong")], text: transcript.candidate)
                        row.element("td", text: transcript.reference)
                    }
                }
            }
        }
    }
}

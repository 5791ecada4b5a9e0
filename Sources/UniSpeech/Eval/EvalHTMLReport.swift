import Foundation

extension EvalReport {
    /// The report as one self-contained HTML page: summaries, confusion matrices, disagreements, the worst CTC
    /// utterances' waveforms with each model's token spans over them, and every utterance's answers.
    public var html: String {
        HTMLBuilder.document(title: "unispeech eval: \(manifestPath)", styleSheet: ReportStyle.sheet) { body in
            body.element("h1", text: "unispeech eval")
            let seconds = utterances.map(\.duration).reduce(0, +)
            body.element("p", [("class", "meta")], text: "\(manifestPath): \(utterances.count) utterances, "
                         + String(format: "%.1f s", seconds) + " of audio; each file run alone through each model.")
            modelsSection(&body)
            let ctcModels = models.indices.filter { models[$0].task == .ctc }
            let classifiers = models.indices.filter { models[$0].task == .classification }
            if !ctcModels.isEmpty { ctcSummarySection(&body, models: ctcModels) }
            if !classifiers.isEmpty { classificationSection(&body, models: classifiers) }
            if models.count > 1 { disagreementSection(&body) }
            if !plotted.isEmpty { worstSection(&body, models: ctcModels) }
            if !ctcModels.isEmpty { ctcUtteranceTable(&body, models: ctcModels) }
            if !classifiers.isEmpty { classificationUtteranceTable(&body, models: classifiers) }
        }
    }

    /// Writes `html` to `path` atomically; never over the manifest, a model file or an audio file.
    public func writeHTML(to path: String) throws {
        var inputs = [manifestPath] + utterances.map(\.entry.path)
        for model in models {
            inputs.append(model.path)
            inputs += ((try? FileManager.default.contentsOfDirectory(atPath: model.path)) ?? []).map { model.path + "/" + $0 }
        }
        let bytes = Array(html.utf8)
        try AtomicFile.write(to: path, inputs: inputs) { try $0.write(bytes) }
    }

    /// The audio file's name without its directories (tables show the whole path on hover).
    static func fileName(_ entry: ManifestEntry) -> String { URL(fileURLWithPath: entry.audio).lastPathComponent }

    private func modelCell(_ row: inout HTMLBuilder, _ index: Int) {
        row.element("td", [("class", "model")]) { cell in
            cell.element("span", [("class", "swatch"), ("style", "background: \(SVGPlot.color(index))")], text: "")
            cell.text(modelName(index))
        }
    }

    private func headerRow(_ table: inout HTMLBuilder, _ names: [String]) {
        table.element("tr") { row in for name in names { row.element("th", text: name) } }
    }

    private func modelsSection(_ body: inout HTMLBuilder) {
        body.element("h2", text: "Models")
        body.element("table") { table in
            headerRow(&table, ["model", "path", "weights", "task", "engine", "load s", "forward s"])
            for (index, model) in models.enumerated() {
                table.element("tr") { row in
                    modelCell(&row, index)
                    row.element("td", [("class", "mono")], text: model.path)
                    row.element("td", text: model.weights)
                    row.element("td", text: model.task.rawValue)
                    row.element("td", text: model.engine)
                    row.element("td", [("class", "num")], text: String(format: "%.3f", model.loadSeconds))
                    row.element("td", [("class", "num")], text: String(format: "%.3f", model.forwardSeconds))
                }
            }
        }
    }

    private func ctcSummarySection(_ body: inout HTMLBuilder, models ctcModels: [Int]) {
        body.element("h2", text: "Transcription (CTC)")
        body.element("table") { table in
            headerRow(&table, ["model", "WER", "CER", "exact", "mean loss", "word errors", "char errors", "loss"])
            for index in ctcModels {
                let summary = ctcSummary(model: index)!
                table.element("tr") { row in
                    modelCell(&row, index)
                    row.element("td", [("class", "num")], text: Self.percent(summary.wer))
                    row.element("td", [("class", "num")], text: Self.percent(summary.cer))
                    row.element("td", [("class", "num")], text: "\(summary.exact)/\(summary.utterances) (\(Self.percent(summary.exactMatch)))")
                    row.element("td", [("class", "num")], text: Self.lossText(summary.meanLoss))
                    row.element("td", [("class", "num")], text: "\(summary.wordErrors)/\(summary.words)")
                    row.element("td", [("class", "num")], text: "\(summary.charErrors)/\(summary.chars)")
                    row.element("td", text: models[index].loss.map {
                        "\($0.reduction.rawValue), zero_infinity \($0.zeroInfinity), blank \($0.blank)"
                    } ?? "none (no pad_token_id)")
                }
            }
        }
        body.element("p", [("class", "note")], text: """
            WER and CER are corpus ratios (all edits over all reference words / characters), compared as written: only \
            whitespace is normalised, case and punctuation count. The loss is the model's own ForCTC loss on the \
            reference's labels (ctc_loss_reduction, ctc_zero_infinity, pad token as the blank); its mean is over utterances.
            """)
    }

    private func classificationSection(_ body: inout HTMLBuilder, models classifiers: [Int]) {
        body.element("h2", text: "Classification")
        body.element("table") { table in
            headerRow(&table, ["model", "accuracy", "correct"])
            for index in classifiers {
                let summary = classificationSummary(model: index)!
                table.element("tr") { row in
                    modelCell(&row, index)
                    row.element("td", [("class", "num")], text: Self.percent(summary.accuracy))
                    row.element("td", [("class", "num")], text: "\(summary.correct)/\(summary.total)")
                }
            }
        }
        for index in classifiers {
            let summary = classificationSummary(model: index)!
            let largest = max(summary.confusion.flatMap { $0 }.max() ?? 1, 1)
            body.element("h3", text: "Confusion of \(modelName(index)) (rows: true label, columns: predicted)")
            body.element("table", [("class", "confusion")]) { table in
                headerRow(&table, [""] + summary.labels)
                for (trueID, counts) in summary.confusion.enumerated() {
                    table.element("tr") { row in
                        row.element("th", text: summary.labels[trueID])
                        for (predictedID, count) in counts.enumerated() {
                            let strength = Double(count) / Double(largest)
                            let tint = predictedID == trueID ? "0, 140, 70" : "200, 40, 40"
                            row.element("td", [("class", "num"), ("style", count == 0 ? "color: #bbb"
                                                 : "background: rgba(\(tint), \(String(format: "%.2f", 0.15 + 0.5 * strength)))")],
                                        text: String(count))
                        }
                    }
                }
            }
        }
    }

    private func disagreementSection(_ body: inout HTMLBuilder) {
        let disagreeing = disagreements
        body.element("h2", text: "Where the models disagree")
        guard !disagreeing.isEmpty else {
            body.element("p", text: "The models give the same answer for every utterance.")
            return
        }
        body.element("table") { table in
            headerRow(&table, ["#", "audio", "reference"] + models.indices.map(modelName))
            for index in disagreeing {
                let utterance = utterances[index]
                table.element("tr") { row in
                    row.element("td", [("class", "num")], text: String(index + 1))
                    row.element("td", [("class", "mono"), ("title", utterance.entry.audio)], text: Self.fileName(utterance.entry))
                    row.element("td", [("class", "mono")], text: utterance.entry.text ?? utterance.entry.label ?? "")
                    for result in utterance.results {
                        if let ctc = result.ctc {
                            row.element("td", [("class", "mono " + (ctc.edits.exact ? "right" : "wrong"))], text: ctc.hypothesis)
                        } else if let classification = result.classification {
                            row.element("td", [("class", classification.correct ? "right" : "wrong")], text: classification.predicted)
                        }
                    }
                }
            }
        }
    }

    private func worstSection(_ body: inout HTMLBuilder, models ctcModels: [Int]) {
        body.element("h2", text: "The worst utterances")
        body.element("p", [("class", "note")], text: """
            Most character errors (over the models), then highest loss. Each lane shows the tokens a model's greedy \
            decoding emits, over the frames where that token wins the argmax ("|" is the word delimiter).
            """)
        for index in plotted {
            let utterance = utterances[index]
            body.element("h3", [("title", utterance.entry.audio)],
                         text: "[\(index + 1)] \(Self.fileName(utterance.entry)): \"\(utterance.entry.text ?? "")\"")
            body.element("table") { table in
                headerRow(&table, ["model", "hypothesis", "word errors", "char errors", "loss"])
                for model in ctcModels {
                    let result = utterance.results[model].ctc!
                    table.element("tr") { row in
                        modelCell(&row, model)
                        row.element("td", [("class", "mono " + (result.edits.exact ? "right" : "wrong"))], text: result.hypothesis)
                        row.element("td", [("class", "num")], text: "\(result.edits.wordErrors)/\(result.edits.words)")
                        row.element("td", [("class", "num")], text: "\(result.edits.charErrors)/\(result.edits.chars)")
                        row.element("td", [("class", "num")], text: Self.lossText(result.loss))
                    }
                }
            }
            let lanes = ctcModels.map { model in
                let seconds = Double(models[model].samplesPerFrame) / Double(models[model].samplingRate)
                return SpanLane(name: modelName(model), spans: utterance.results[model].ctc!.spans.map {
                    TimeSpan(label: $0.token, start: Double($0.startFrame) * seconds, end: Double($0.endFrame) * seconds)
                })
            }
            body.element("div", [("class", "figure")]) { figure in
                SVGPlot.waveform(title: "\(Self.fileName(utterance.entry)): waveform and CTC tokens", samples: waveforms[index] ?? [],
                                 samplingRate: waveformRate, lanes: lanes, into: &figure)
            }
        }
    }

    private func ctcUtteranceTable(_ body: inout HTMLBuilder, models ctcModels: [Int]) {
        body.element("h2", text: "Every utterance (CTC)")
        body.element("table") { table in
            headerRow(&table, ["#", "audio", "s", "reference", "model", "hypothesis", "word errors", "char errors", "loss"])
            for (index, utterance) in utterances.enumerated() {
                for (position, model) in ctcModels.enumerated() {
                    let result = utterance.results[model].ctc!
                    table.element("tr", position == 0 ? [("class", "first")] : []) { row in
                        if position == 0 {
                            let span = [("rowspan", String(ctcModels.count))]
                            row.element("td", span + [("class", "num")], text: String(index + 1))
                            row.element("td", span + [("class", "mono"), ("title", utterance.entry.audio)],
                                        text: Self.fileName(utterance.entry))
                            row.element("td", span + [("class", "num")], text: String(format: "%.2f", utterance.duration))
                            row.element("td", span + [("class", "mono")], text: utterance.entry.text ?? "")
                        }
                        modelCell(&row, model)
                        row.element("td", [("class", "mono " + (result.edits.exact ? "right" : "wrong"))], text: result.hypothesis)
                        row.element("td", [("class", "num")], text: "\(result.edits.wordErrors)/\(result.edits.words)")
                        row.element("td", [("class", "num")], text: "\(result.edits.charErrors)/\(result.edits.chars)")
                        row.element("td", [("class", "num")], text: Self.lossText(result.loss))
                    }
                }
            }
        }
    }

    private func classificationUtteranceTable(_ body: inout HTMLBuilder, models classifiers: [Int]) {
        body.element("h2", text: "Every utterance (classification)")
        body.element("table") { table in
            headerRow(&table, ["#", "audio", "label", "model", "predicted", "probability"])
            for (index, utterance) in utterances.enumerated() {
                for (position, model) in classifiers.enumerated() {
                    let result = utterance.results[model].classification!
                    table.element("tr", position == 0 ? [("class", "first")] : []) { row in
                        if position == 0 {
                            let span = [("rowspan", String(classifiers.count))]
                            row.element("td", span + [("class", "num")], text: String(index + 1))
                            row.element("td", span + [("class", "mono"), ("title", utterance.entry.audio)],
                                        text: Self.fileName(utterance.entry))
                            row.element("td", span, text: utterance.entry.label ?? "")
                        }
                        modelCell(&row, model)
                        row.element("td", [("class", result.correct ? "right" : "wrong")], text: result.predicted)
                        row.element("td", [("class", "num")], text: String(format: "%.3f", result.score))
                    }
                }
            }
        }
    }
}

import Foundation

/// One CTC model's figures over the whole manifest: corpus ratios (sums of edits over sums of reference units).
public struct CTCSummary: Sendable, Equatable {
    public var utterances: Int
    public var wordErrors: Int
    public var words: Int
    public var charErrors: Int
    public var chars: Int
    /// Utterances whose word lists equal the reference's.
    public var exact: Int
    /// The mean of the per-utterance losses; nil without a loss, +inf when one is infinite.
    public var meanLoss: Double?

    public var wer: Double? { words == 0 ? nil : Double(wordErrors) / Double(words) }
    public var cer: Double? { chars == 0 ? nil : Double(charErrors) / Double(chars) }
    public var exactMatch: Double { utterances == 0 ? 0 : Double(exact) / Double(utterances) }
}

/// One classifier's figures over the whole manifest.
public struct ClassificationSummary: Sendable, Equatable {
    public var labels: [String]
    public var correct: Int
    public var total: Int
    /// confusion[true id][predicted id].
    public var confusion: [[Int]]

    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
}

extension EvalReport {
    /// The CTC figures of model `index`; nil for a classifier.
    public func ctcSummary(model index: Int) -> CTCSummary? {
        guard models[index].task == .ctc else { return nil }
        let results = utterances.compactMap { $0.results[index].ctc }
        let losses = results.compactMap(\.loss)
        return CTCSummary(
            utterances: results.count, wordErrors: results.map(\.edits.wordErrors).reduce(0, +),
            words: results.map(\.edits.words).reduce(0, +), charErrors: results.map(\.edits.charErrors).reduce(0, +),
            chars: results.map(\.edits.chars).reduce(0, +), exact: results.filter(\.edits.exact).count,
            meanLoss: models[index].loss == nil || losses.isEmpty ? nil : losses.reduce(0, +) / Double(losses.count))
    }

    /// The classification figures of model `index`; nil for a CTC model.
    public func classificationSummary(model index: Int) -> ClassificationSummary? {
        guard models[index].task == .classification else { return nil }
        let labels = models[index].labels
        var confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        let results = utterances.compactMap { $0.results[index].classification }
        for result in results { confusion[result.labelID][result.predictedID] += 1 }
        return ClassificationSummary(labels: labels, correct: results.filter(\.correct).count, total: results.count,
                                     confusion: confusion)
    }

    /// Utterances where models of the same task answer differently (transcripts, or predicted classes).
    public var disagreements: [Int] {
        utterances.indices.filter { index in
            let results = utterances[index].results
            let hypotheses = Set(results.compactMap { $0.ctc?.hypothesis })
            let predictions = Set(results.compactMap { $0.classification?.predictedID })
            return hypotheses.count > 1 || predictions.count > 1
        }
    }

    /// A short name for model `index` in tables: "1 hf", "2 int8".
    public func modelName(_ index: Int) -> String { "\(index + 1) \(models[index].weights)" }
}

// MARK: - JSON (schemas/eval-report.schema.json)

extension EvalReport {
    /// The report as JSON for programs.
    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { $0.isFinite ? .double($0) : .null } ?? .null }
        func int(_ value: Int) -> JSONValue { .int(Int64(value)) }
        let modelValues: [JSONValue] = models.indices.map { index in
            let model = models[index]
            let ctc: JSONValue = ctcSummary(model: index).map { summary in
                .object([
                    ("utterances", int(summary.utterances)), ("word_errors", int(summary.wordErrors)), ("words", int(summary.words)),
                    ("char_errors", int(summary.charErrors)), ("chars", int(summary.chars)), ("exact", int(summary.exact)),
                    ("wer", number(summary.wer)), ("cer", number(summary.cer)), ("exact_match", .double(summary.exactMatch)),
                    ("mean_loss", number(summary.meanLoss)),
                    ("loss_reduction", model.loss.map { .string($0.reduction.rawValue) } ?? .null),
                    ("zero_infinity", model.loss.map { .bool($0.zeroInfinity) } ?? .null),
                    ("blank_id", model.loss.map { int($0.blank) } ?? .null),
                ])
            } ?? .null
            let classification: JSONValue = classificationSummary(model: index).map { summary in
                .object([
                    ("labels", .array(summary.labels.map { .string($0) })), ("correct", int(summary.correct)),
                    ("total", int(summary.total)), ("accuracy", .double(summary.accuracy)),
                    ("confusion", .array(summary.confusion.map { .array($0.map(int)) })),
                ])
            } ?? .null
            return .object([
                ("path", .string(model.path)), ("weights", .string(model.weights)), ("task", .string(model.task.rawValue)),
                ("engine", .string(model.engine)), ("load_seconds", .double(model.loadSeconds)),
                ("forward_seconds", .double(model.forwardSeconds)), ("ctc", ctc), ("classification", classification),
            ])
        }
        let utteranceValues: [JSONValue] = utterances.enumerated().map { index, utterance in
            .object([
                ("index", int(index)), ("audio", .string(utterance.entry.audio)), ("line", int(utterance.entry.line)),
                ("text", utterance.entry.text.map { .string($0) } ?? .null),
                ("label", utterance.entry.label.map { .string($0) } ?? .null),
                ("duration", .double(utterance.duration)),
                ("results", .array(utterance.results.enumerated().map { model, result in
                    switch result {
                    case let .ctc(ctc):
                        return .object([
                            ("model", int(model)), ("hypothesis", .string(ctc.hypothesis)),
                            ("label_ids", .array(ctc.labelIDs.map(int))), ("word_errors", int(ctc.edits.wordErrors)),
                            ("words", int(ctc.edits.words)), ("char_errors", int(ctc.edits.charErrors)),
                            ("chars", int(ctc.edits.chars)), ("wer", number(ctc.edits.wer)), ("cer", number(ctc.edits.cer)),
                            ("exact", .bool(ctc.edits.exact)), ("loss", number(ctc.loss)), ("frames", int(ctc.frames)),
                        ])
                    case let .classification(classification):
                        return .object([
                            ("model", int(model)), ("predicted", .string(classification.predicted)),
                            ("predicted_id", int(classification.predictedID)), ("score", .double(classification.score)),
                            ("label_id", int(classification.labelID)), ("correct", .bool(classification.correct)),
                        ])
                    }
                })),
            ])
        }
        return .object([
            ("manifest", .string(manifestPath)), ("utterance_count", int(utterances.count)), ("models", .array(modelValues)),
            ("utterances", .array(utteranceValues)), ("disagreements", .array(disagreements.map(int))),
        ])
    }
}

// MARK: - Text for people

extension EvalReport {
    /// "16.67 %", or "n/a".
    static func percent(_ value: Double?) -> String { value.map { String(format: "%.2f %%", $0 * 100) } ?? "n/a" }

    /// A loss with 6 significant digits, "inf", or "n/a".
    static func lossText(_ value: Double?) -> String {
        guard let value else { return "n/a" }
        return value.isFinite ? String(format: "%.6g", value) : "inf"
    }

    /// Rows with their columns padded to a common width (the last column is not padded).
    static func aligned(_ rows: [[String]]) -> [String] {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { column in
            rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    /// The report for people: a table per task, the utterances with errors, and where the models disagree.
    public var text: String {
        var lines = ["eval \(manifestPath): \(utterances.count) utterance\(utterances.count == 1 ? "" : "s"), "
                     + "\(models.count) model\(models.count == 1 ? "" : "s"), each file run alone"]
        let ctcModels = models.indices.filter { models[$0].task == .ctc }
        let classifiers = models.indices.filter { models[$0].task == .classification }
        if !ctcModels.isEmpty {
            var rows = [["model", "path", "WER", "CER", "exact", "mean loss", "word err", "char err", "forward s"]]
            for index in ctcModels {
                let summary = ctcSummary(model: index)!
                rows.append([modelName(index), models[index].path, Self.percent(summary.wer), Self.percent(summary.cer),
                             "\(summary.exact)/\(summary.utterances)", Self.lossText(summary.meanLoss),
                             "\(summary.wordErrors)/\(summary.words)", "\(summary.charErrors)/\(summary.chars)",
                             String(format: "%.2f", models[index].forwardSeconds)])
            }
            lines += [""] + Self.aligned(rows)
            let withErrors = utterances.indices.filter { index in
                utterances[index].results.contains { ($0.ctc?.edits.exact == false) }
            }
            if !withErrors.isEmpty {
                lines += ["", "utterances with errors (\(withErrors.count)):"]
                for index in withErrors {
                    let utterance = utterances[index]
                    lines.append("  [\(index + 1)] \(utterance.entry.audio): \"\(utterance.entry.text ?? "")\"")
                    var rows: [[String]] = []
                    for model in ctcModels {
                        let result = utterance.results[model].ctc!
                        rows.append(["    " + modelName(model), "\"\(result.hypothesis)\"",
                                     "words \(result.edits.wordErrors)/\(result.edits.words)",
                                     "chars \(result.edits.charErrors)/\(result.edits.chars)", "loss \(Self.lossText(result.loss))"])
                    }
                    lines += Self.aligned(rows)
                }
            }
        }
        if !classifiers.isEmpty {
            var rows = [["model", "path", "accuracy", "correct", "forward s"]]
            for index in classifiers {
                let summary = classificationSummary(model: index)!
                rows.append([modelName(index), models[index].path, Self.percent(summary.accuracy),
                             "\(summary.correct)/\(summary.total)", String(format: "%.2f", models[index].forwardSeconds)])
            }
            lines += [""] + Self.aligned(rows)
            let wrong = utterances.indices.filter { index in
                utterances[index].results.contains { $0.classification?.correct == false }
            }
            if !wrong.isEmpty {
                lines += ["", "misclassified utterances (\(wrong.count)):"]
                for index in wrong {
                    let answers = classifiers.map { "\(modelName($0)): \(utterances[index].results[$0].classification!.predicted)" }
                    lines.append("  [\(index + 1)] \(utterances[index].entry.audio): label \(utterances[index].entry.label ?? ""); "
                                 + answers.joined(separator: ", "))
                }
            }
        }
        for index in classifiers {
            let summary = classificationSummary(model: index)!
            lines += ["", "confusion of \(modelName(index)) (rows: true label, columns: predicted):"]
            lines += Self.aligned([[""] + summary.labels] + summary.labels.indices.map { row in
                ["  " + summary.labels[row]] + summary.confusion[row].map(String.init)
            })
        }
        let disagreeing = disagreements
        if models.count > 1 {
            lines += ["", disagreeing.isEmpty ? "the models agree on every utterance"
                      : "the models disagree on \(disagreeing.count) utterance\(disagreeing.count == 1 ? "" : "s"):"]
            for index in disagreeing {
                let answers = utterances[index].results.enumerated().map { model, result in
                    "\(modelName(model)): " + (result.ctc.map { "\"\($0.hypothesis)\"" } ?? result.classification!.predicted)
                }
                lines.append("  [\(index + 1)] \(utterances[index].entry.audio): " + answers.joined(separator: "; "))
            }
        }
        return lines.joined(separator: "\n")
    }
}

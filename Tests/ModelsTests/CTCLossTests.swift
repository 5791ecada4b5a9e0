import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore
@testable import UniSpeechModels

/// The CTC loss against torch on small hand-made logits (Tests/Fixtures/eval/ctc_cases.json from scripts/make_ctc_cases.py).
struct CTCLossTests {
    struct Case {
        var name: String
        var frames: Int
        var classes: Int
        var blank: Int
        var labels: [Int]
        var logits: [Float]
        var item: JSONValue
    }

    static let cases: [Case] = CTCLabelEncoderTests.fixture["ctc_loss"]!.arrayValue!.map { item in
        Case(name: item["name"]!.stringValue!, frames: item["frames"]!.intValue!, classes: item["classes"]!.intValue!,
             blank: item["blank"]!.intValue!, labels: item["labels"]!.arrayValue!.map { $0.intValue! },
             logits: item["logits"]!.arrayValue!.map { Float($0.doubleValue!) }, item: item)
    }

    @Test func fixtureHoldsEveryCase() {
        #expect(Self.cases.count == 12)
    }

    @Test func negativeLogLikelihoodEqualsTorchInDouble() {
        for testCase in Self.cases {
            let targets = testCase.labels.filter { $0 != CTCLoss.ignoredLabel && $0 != testCase.blank }
            let nll = CTCLoss.negativeLogLikelihood(
                logProbabilities: CTCLoss.logSoftmax(testCase.logits[...], frames: testCase.frames, classes: testCase.classes),
                frames: testCase.frames, classes: testCase.classes, targets: targets, blank: testCase.blank)
            guard let expected = testCase.item["nll_f64"]?.doubleValue else {
                #expect(nll == .infinity, "\(testCase.name)")
                continue
            }
            // Both sides run the same recursion in double on the same f32 logits; only the order of the
            // log-sum-exp terms differs, so the results agree to a few ulps (1e-12 relative leaves room for 200 frames).
            #expect(abs(nll - expected) <= 1e-12 * max(abs(expected), 1), "\(testCase.name): \(nll) vs \(expected)")
        }
    }

    @Test func forCTCReductionsAndZeroInfinityEqualTransformers() throws {
        for testCase in Self.cases {
            for expectation in testCase.item["for_ctc"]!.arrayValue! {
                let reduction = try #require(CTCLoss.Reduction(rawValue: expectation["reduction"]!.stringValue!))
                let loss = CTCLoss(blank: testCase.blank, reduction: reduction, zeroInfinity: expectation["zero_infinity"]!.boolValue!)
                    .loss(logits: testCase.logits[...], frames: testCase.frames, classes: testCase.classes, labels: testCase.labels)
                let label = "\(testCase.name), \(reduction.rawValue), zero_infinity \(loss)"
                guard let expected = expectation["loss"]?.doubleValue else {
                    #expect(loss == .infinity, "\(label)")
                    continue
                }
                // transformers computes in float32 (log_softmax and the alpha recursion), we in double: its result
                // carries about one float32 rounding (2^-24 relative) per frame, so 1e-6 relative (plus 1e-7
                // absolute for losses at zero) covers up to 120 frames with room to spare.
                #expect(abs(loss - expected) <= 1e-6 * abs(expected) + 1e-7, "\(label) vs \(expected)")
            }
        }
    }

    @Test func configChoosesReductionBlankAndZeroInfinity() throws {
        var config = UniSpeechConfig()
        config.ctcLossReduction = "sum"
        config.ctcZeroInfinity = true
        config.padTokenId = 5
        #expect(try CTCLoss(config: config, source: "c") == CTCLoss(blank: 5, reduction: .sum, zeroInfinity: true))
        config.ctcLossReduction = "average"
        #expect(throws: CTCLossError.unknownReduction(source: "c", value: "average")) { try CTCLoss(config: config, source: "c") }
        config.ctcLossReduction = "mean"
        config.padTokenId = nil
        #expect(throws: CTCLossError.noBlank(source: "c")) { try CTCLoss(config: config, source: "c") }
    }
}

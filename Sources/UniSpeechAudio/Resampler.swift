import CSoxr
import Foundation
import UniSpeechCore

/// Sample-rate conversion with libsoxr's one-shot resampler at high quality (SOXR_HQ, asked for explicitly:
/// soxr_oneshot's own default is LQ), the setting python-soxr's `resample` uses by default.
public enum Resampler {
    /// libsoxr's high quality, python-soxr's default.
    static var qualitySpec: soxr_quality_spec_t { soxr_quality_spec(UInt(SOXR_HQ), 0) }

    /// The output length for `count` input samples: round(count x outputRate / inputRate), as python-soxr sizes it
    /// (at most Int.max / 2, for a header that claims an absurd length).
    public static func outputCount(_ count: Int, from inputRate: Double, to outputRate: Double) -> Int {
        let exact = (Double(count) * outputRate / inputRate + 0.5).rounded(.down)
        return exact < Double(Int.max / 2) ? Int(exact) : Int.max / 2
    }

    /// Resamples mono f32 `samples` from `inputRate` to `outputRate`; `path` names the input in errors.
    /// The output holds round(count x outputRate / inputRate) samples, as python-soxr computes it.
    public static func resample(_ samples: [Float], from inputRate: Double, to outputRate: Double,
                                path: String) throws -> [Float] {
        guard outputRate.isFinite, outputRate > 0 else { throw AudioError.badTargetRate(rate: outputRate) }
        guard inputRate.isFinite, inputRate > 0 else { throw AudioError.badSampleRate(path: path, rate: inputRate) }
        guard !samples.isEmpty else { throw AudioError.empty(path: path) }
        if inputRate == outputRate { return samples }
        let outputCount = outputCount(samples.count, from: inputRate, to: outputRate)
        guard outputCount > 0 else {
            throw AudioError.tooShort(path: path, samples: samples.count, rate: inputRate, targetRate: outputRate)
        }
        var output = [Float](repeating: 0, count: outputCount)
        var produced = 0
        var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var qualitySpec = qualitySpec
        let failure: soxr_error_t? = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                soxr_oneshot(inputRate, outputRate, 1, input.baseAddress, samples.count, nil,
                             out.baseAddress, outputCount, &produced, &ioSpec, &qualitySpec, nil)
            }
        }
        if let failure { throw AudioError.resampleFailed(path: path, reason: String(cString: failure)) }
        return Array(output[0..<produced])
    }
}

import CKernels
import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore
@testable import UniSpeechKernels

@Suite struct LinearKernelTests {
    /// Each way a linear layer is stored and each GEMM library, with a fused residual sum and activation, against a
    /// double-precision reference y = act(x Wᵀ + b + y₀).
    @Test(arguments: [(GemmBackend.onednn, "f32"), (.openblas, "f32"), (.onednn, "f16"), (.onednn, "int8"), (.onednnFused, "int8")],
          [Activation.linear, .gelu, .relu, .quickGelu])
    func fusedSumAndActivationMatchTheReference(storage: (backend: GemmBackend, dtype: String), activation: Activation) throws {
        let rows = 37, inputs = 70, outputs = 45
        var random = TestRandom(state: 0xC0FF_EE00 &+ UInt64(inputs))
        let x = (0..<(rows * inputs)).map { _ in random.next() }
        var w = (0..<(outputs * inputs)).map { _ in random.next() / 4 }
        let bias = (0..<outputs).map { _ in random.next() }
        let start = (0..<(rows * outputs)).map { _ in random.next() }
        let stored: StoredMatrix
        switch storage.dtype {
        case "f16":
            let halves = HalfPrecision.encode(w)
            w = TensorBytes(values: halves).floats(as: .f16)  // the reference uses the stored values
            stored = .half(TensorBytes(values: halves))
        case "int8":
            let (codes, scales) = WeightQuantization.symmetricInt8(w, rows: outputs, columns: inputs)
            w = WeightQuantization.dequantize(codes, scales: scales, columns: inputs)
            stored = .int8(values: TensorBytes(values: codes), scales: scales)
        default:
            stored = .float(FloatStorage(w))
        }
        let layer = LinearWeights(stored, bias: FloatStorage(bias), outFeatures: outputs, inFeatures: inputs)
        var y = start
        try withContext(backend: storage.backend) { context in
            try withMatrix(x, rows: rows, columns: inputs) { x in
                try withMutableMatrix(&y, rows: rows, columns: outputs) {
                    try context.linear(x, layer, into: $0, accumulate: true, activation: activation)
                }
            }
        }
        let steps = storage.dtype == "int8" ? try int8Steps(x, rows: rows, columns: inputs, backend: storage.backend) : nil
        for r in 0..<rows {
            // int8 activations are rounded per row: each moves by at most half a step of the row's codes.
            let step = steps?[r] ?? 0
            for n in 0..<outputs {
                var sum = Double(bias[n]) + Double(start[r * outputs + n]), mass = 0.0
                for k in 0..<inputs {
                    sum += Double(x[r * inputs + k]) * Double(w[n * inputs + k])
                    mass += abs(Double(w[n * inputs + k]))
                }
                var expected = [Float(sum)]
                activation.apply(&expected)
                // f32 sums over 70 terms: 1e-4 absolute; int8: plus step/2 * sum |w| (the activation is 1-Lipschitz here).
                let bound = 1e-4 + step / 2 * mass
                #expect(abs(Double(y[r * outputs + n]) - Double(expected[0])) <= bound, "\(storage) \(activation) (\(r), \(n))")
            }
        }
    }

    /// The step of each row's u8 codes in an int8 product on `backend`: its range over 127 (or less) with a zero
    /// point of its own; with the fused backend where oneDNN has brgemm, the smallest step that keeps the row's
    /// range in [0, qmax] around the zero point the rows share.
    func int8Steps(_ x: [Float], rows: Int, columns: Int, backend: GemmBackend) throws -> [Double] {
        let ranges = (0..<rows).map { r in
            let row = x[(r * columns)..<((r + 1) * columns)]
            return (low: min(row.min()!, 0), high: max(row.max()!, 0))
        }
        let fused = try withContext(backend: backend) { backend == .onednnFused && $0.runsBrgemm }
        guard fused else { return ranges.map { Double($0.high - $0.low) / 127 } }
        let maximum = try withContext(backend: backend) { $0.activationMax }
        let zero = ck_common_zero_point(ranges.map(\.low), ranges.map(\.high), rows, maximum)
        return ranges.map { max(zero > 0 ? -Double($0.low) / Double(zero) : 0,
                                zero < maximum ? Double($0.high) / Double(maximum - zero) : 0) }
    }
}

import Foundation
import Testing
import TestSupport
@testable import UniSpeechKernels
@testable import UniSpeechCore
import CBytes

@Suite struct Int8MatmulTests {
    /// Quantises `values` [outputs, inputs] symmetrically per output channel, as the int8 format stores them.
    private func quantize(_ values: [Float], outputs: Int, inputs: Int) -> (weights: [Int8], scales: [Float]) {
        var weights = [Int8](repeating: 0, count: values.count)
        var scales = [Float](repeating: 1, count: outputs)
        for n in 0..<outputs {
            let row = values[(n * inputs)..<((n + 1) * inputs)]
            let scale = max(row.map(abs).max() ?? 0, 1e-12) / 127
            scales[n] = scale
            for k in 0..<inputs { weights[n * inputs + k] = Int8((values[n * inputs + k] / scale).rounded()) }
        }
        return (weights, scales)
    }

    @Test func fullScaleCodesDoNotSaturate() throws {
        // Every activation at the top code and every weight at 127: the pairwise u8 x s8 sums are at
        // their largest, so any 16-bit saturation in the kernel would show as a wrong total.
        let outputs = 16, inputs = 768, rows = 5
        let weights = Int8Weights(values: TensorBytes(values: [Int8](repeating: 127, count: outputs * inputs)),
                                  scales: [Float](repeating: 1.0 / 127, count: outputs), outputs: outputs, inputs: inputs)
        let x = [Float](repeating: 1, count: rows * inputs)
        var y = [Float](repeating: 0, count: rows * outputs)
        try withContext { context in
            try withMatrix(x, rows: rows, columns: inputs) { x in
                try withMutableMatrix(&y, rows: rows, columns: outputs) { try context.int8Product(x, weights, bias: nil, into: $0) }
            }
        }
        for value in y { #expect(abs(value - Float(inputs)) <= 1e-3 * Float(inputs)) }  // exact up to f32 rounding
    }

    @Test(arguments: [(1, 32, 48), (7, 96, 64), (33, 40, 200)])
    func matchesFloatReferenceWithinRoundingBound(shape: (rows: Int, outputs: Int, inputs: Int)) throws {
        let (rows, outputs, inputs) = shape
        var random = TestRandom(state: 0x9E37_79B9_7F4A_7C15 &+ UInt64(rows * 1000 + inputs))
        let (weights, scales) = quantize((0..<(outputs * inputs)).map { _ in random.next() }, outputs: outputs, inputs: inputs)
        let bias = (0..<outputs).map { _ in random.next() }
        let rowStride = inputs + 3, outputStride = outputs + 5
        // Rows with a positive shift (asymmetric range), one all-zero row, and otherwise centred values.
        var x = [Float](repeating: 0, count: rows * rowStride)
        for r in 0..<rows where r != 1 {
            for k in 0..<inputs { x[r * rowStride + k] = 3 * random.next() + (r % 3 == 0 ? 2 : 0) }
        }
        let int8 = Int8Weights(values: TensorBytes(values: weights), scales: scales, outputs: outputs, inputs: inputs)
        var y = [Float](repeating: .nan, count: rows * outputStride)
        let qmax = try withContext { context in
            try withMatrix(x, rows: rows, columns: inputs, rowStride: rowStride) { x in
                try bias.withUnsafeBufferPointer { bp in
                    try withMutableMatrix(&y, rows: rows, columns: outputs, rowStride: outputStride) {
                        try context.int8Product(x, int8, bias: bp.baseAddress!, into: $0)
                    }
                }
            }
            return Double(context.activationMax)
        }
        for r in 0..<rows {
            let row = (0..<inputs).map { Double(x[r * rowStride + $0]) }
            let step = (max(row.max()!, 0) - min(row.min()!, 0)) / qmax
            for n in 0..<outputs {
                var exact = Double(bias[n]), weightMass = 0.0
                for k in 0..<inputs {
                    let w = Double(weights[n * inputs + k]) * Double(scales[n])
                    exact += row[k] * w
                    weightMass += abs(w)
                }
                // Rounding each activation moves it by at most step/2, so the output moves by at most
                // step/2 * sum|w|; 1e-4 absolute covers f32 arithmetic.
                let bound = step / 2 * weightMass + 1e-4
                #expect(abs(Double(y[r * outputStride + n]) - exact) <= bound, "row \(r) column \(n)")
            }
        }
    }

    /// (length, inChannels, outChannels, kernel, stride, bias): the feature encoder's two conv shapes, scaled
    /// down; the long input runs as several blocks (a 64 KB block here) and a short last block.
    static let convShapes = [(41, 24, 16, 3, 2, true), (40, 32, 8, 2, 2, false), (3001, 64, 8, 3, 2, true)]

    @Test(arguments: convShapes)
    func int8ConvMatchesFloatConv(shape: (length: Int, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, bias: Bool)) throws {
        let (length, cin, cout, kernel, stride, hasBias) = shape
        var random = TestRandom(state: 0x2545_F491_4F6C_DD1D &+ UInt64(length * 100 + cin))
        let original = (0..<(cout * cin * kernel)).map { _ in random.next() }  // torch layout [cout, cin, kernel]
        let (quantized, scales) = WeightQuantization.symmetricInt8(original, rows: cout, columns: cin * kernel)
        let dequantized = WeightQuantization.dequantize(quantized, scales: scales, columns: cin * kernel)
        let bias = hasBias ? FloatStorage((0..<cout).map { _ in random.next() }) : nil
        let geometry = ConvGeometry(kernel: kernel, stride: stride)
        let int8 = ConvWeights(int8Weight: TensorBytes(values: quantized), scales: scales, bias: bias,
                               inChannels: cin, outChannels: cout, geometry: geometry)
        let sameWeights = ConvWeights(torchWeight: FloatStorage(dequantized), bias: bias, inChannels: cin,
                                      outChannels: cout, geometry: geometry)
        let originalWeights = ConvWeights(torchWeight: FloatStorage(original), bias: bias, inChannels: cin,
                                          outChannels: cout, geometry: geometry)
        // x [length, cin] like a GELU output: mostly small, a positive tail, and a quiet stretch in the middle
        // (per-window scales keep its resolution).
        let x = (0..<(length * cin)).map { index -> Float in
            let value = 2 * random.next() + (index % 7 == 0 ? 3 : 0)
            return (index / cin) % 10 < 3 ? value / 100 : value
        }
        let outLength = int8.outputLength(length)
        #expect(outLength == originalWeights.outputLength(length))
        func convolve(_ conv: ConvWeights) throws -> [Float] {
            var y = [Float](repeating: .nan, count: outLength * cout)
            let frames = try withContext { context in
                try withMatrix(x, rows: length, columns: cin) { x in
                    try withMutableMatrix(&y, rows: outLength, columns: cout) { try context.conv1d(x, conv, into: $0, int8BlockBytes: 1 << 16) }
                }
            }
            #expect(frames == outLength)
            return y
        }
        let y = try convolve(int8)  // [outLength, cout]
        let reference = try convolve(sameWeights)
        let float = try convolve(originalWeights)

        let qmax = try withContext { Double($0.activationMax) }
        let weightMass = (0..<cout).map { o in dequantized[(o * cin * kernel)..<((o + 1) * cin * kernel)].reduce(0.0) { $0 + Double(abs($1)) } }
        var errorSquares = 0.0, valueSquares = 0.0
        for t in 0..<outLength {
            let window = x[(t * stride * cin)..<(t * stride * cin + kernel * cin)].map(Double.init)
            let step = (max(window.max()!, 0) - min(window.min()!, 0)) / qmax
            for o in 0..<cout {
                let index = t * cout + o
                // Same int8 weights in f32: only the activation rounding differs, each window value moves by at
                // most step / 2 of its own window's range, so the output by step / 2 * sum |w|; 1e-4 for f32.
                #expect(abs(Double(y[index]) - Double(reference[index])) <= step / 2 * weightMass[o] + 1e-4, "frame \(t) channel \(o)")
                errorSquares += pow(Double(y[index]) - Double(float[index]), 2)
                valueSquares += pow(Double(float[index]), 2)
            }
        }
        // Against the f32 conv with the unquantised weights (int8 weights and activations): relative L2 error < 2%.
        #expect((errorSquares / valueSquares).squareRoot() < 0.02)
    }

    @Test func halfToFloatMatchesEveryBitPattern() {
        let patterns = (0...UInt16.max).map { $0 }
        var converted = [Float](repeating: 0, count: patterns.count)
        cb_f16_to_f32(patterns, &converted, patterns.count)
        for (bits, value) in zip(patterns, converted) {
            let expected = Float(Float16(bitPattern: bits))
            #expect(expected.isNaN ? value.isNaN : value.bitPattern == expected.bitPattern, "f16 bits \(bits)")  // exact
        }
    }
}

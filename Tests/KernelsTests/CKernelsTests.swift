import Foundation
import Testing
import TestSupport
@testable import UniSpeechKernels
@testable import UniSpeechCore
import CKernels
import CBytes

@Suite struct CKernelsTests {
    @Test func geluMatchesExactErfGelu() {
        let x = (0...40000).map { Float(-10 + Double($0) / 2000) }
        var y = [Float](repeating: .nan, count: x.count)
        ck_gelu(x, &y, x.count)
        for (input, output) in zip(x, y) {
            let exact = 0.5 * Double(input) * (1 + erf(Double(input) / 2.0.squareRoot()))
            // a few ulp of the result, plus 2e-6 absolute for the rounding of 1 + erf near -1
            #expect(abs(Double(output) - exact) <= 2e-6 + 1e-6 * abs(exact), "gelu(\(input))")
        }
    }

    @Test func floatToHalfRoundsLikeFloat16() {
        var values: [Float] = [0, -0, 1, -1, 65504, -65504, 65519, 6.1e-5, 5.96e-8, 2.98e-8, 3e-8, 1e-9, .infinity, -.infinity]
        var state: UInt32 = 12345
        for _ in 0..<100_000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            values.append(Float(bitPattern: (state & 0x807F_FFFF) | (UInt32(103 + (state >> 8) % 40) << 23)))  // |x| in [2^-24, 2^16)
        }
        var halves = [UInt16](repeating: 0, count: values.count)
        cb_f32_to_f16(values, &halves, values.count)
        for (value, bits) in zip(values, halves) {
            #expect(bits == Float16(value).bitPattern, "f16 of \(value)")  // exact: both round to nearest even
        }
    }

    @Test(arguments: [16, 12]) func monoConvMatchesDirectSum(outputs: Int) {
        // 16 outputs take the AVX2 path where the CPU has it, 12 the portable one.
        let kernel = 10, stride = 5, frames = 37
        let x = (0..<((frames - 1) * stride + kernel)).map { Float(sin(Double($0) * 0.71)) }
        let w = (0..<(kernel * outputs)).map { Float(cos(Double($0) * 0.13)) }  // [kernel, outputs]
        let bias = (0..<outputs).map { Float($0) * 0.1 }
        var y = [Float](repeating: .nan, count: frames * outputs)
        ck_conv1d_mono(x, frames, kernel, stride, w, bias, outputs, &y)
        for t in 0..<frames {
            for o in 0..<outputs {
                var exact = Double(bias[o])
                for k in 0..<kernel { exact += Double(w[k * outputs + o]) * Double(x[t * stride + k]) }
                #expect(abs(Double(y[t * outputs + o]) - exact) <= 1e-5, "frame \(t) output \(o)")  // 10 f32 FMAs
            }
        }
    }

    @Test func softmaxRowsMatchesDoublePrecision() {
        let rows = 5, columns = 131, stride = 140, scale: Float = 0.125
        var scores = (0..<(rows * stride)).map { Float(sin(Double($0) * 0.37) * 40) }
        let original = scores
        ck_softmax_rows(&scores, rows, columns, stride, scale)
        for r in 0..<rows {
            let row = (0..<columns).map { Double(original[r * stride + $0]) * Double(scale) }
            let largest = row.max()!
            let total = row.reduce(0) { $0 + exp($1 - largest) }
            for c in 0..<columns {
                let exact = exp(row[c] - largest) / total
                #expect(abs(Double(scores[r * stride + c]) - exact) <= 1e-6 * exact + 1e-12, "row \(r) column \(c)")  // ~8 ulp
            }
            for c in columns..<stride { #expect(scores[r * stride + c] == original[r * stride + c]) }  // padding untouched
        }
    }

    @Test(arguments: [768, 20]) func layerNormMatchesDoublePrecision(size: Int) {
        // 768 takes the AVX2 path where the CPU has it, 20 the portable one; both in place and out of place.
        let rows = 6
        let x = (0..<(rows * size)).map { Float(sin(Double($0) * 0.37) * 3 + 0.5) }
        let gamma = (0..<size).map { Float(1 + 0.01 * Double($0 % 7)) }, beta = (0..<size).map { Float($0 % 5) * 0.1 }
        var y = [Float](repeating: .nan, count: x.count)
        var inPlace = x
        ck_layer_norm(x, &y, rows, size, gamma, beta, 1e-5)
        inPlace.withUnsafeMutableBufferPointer { ck_layer_norm($0.baseAddress!, $0.baseAddress!, rows, size, gamma, beta, 1e-5) }
        #expect(inPlace == y)
        for r in 0..<rows {
            let row = (0..<size).map { Double(x[r * size + $0]) }
            let mean = row.reduce(0, +) / Double(size)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(size)
            for i in 0..<size {
                let exact = (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(gamma[i]) + Double(beta[i])
                #expect(abs(Double(y[r * size + i]) - exact) <= 1e-5 * (1 + abs(exact)), "row \(r) value \(i)")  // f32 rounding
            }
        }
    }

    @Test(arguments: [(512, true), (12, true), (512, false)]) func channelAffineMatchesScalar(channels: Int, gelu: Bool) {
        // 512 channels take the AVX2 path where the CPU has it, 12 the portable one.
        let frames = 9
        let x = (0..<(frames * channels)).map { Float(cos(Double($0) * 0.61) * 2) }
        let scale = (0..<channels).map { Float(0.5 + 0.01 * Double($0 % 13)) }, shift = (0..<channels).map { Float($0 % 3) - 1 }
        var y = x
        ck_affine_channels(&y, frames, channels, scale, shift, gelu ? 1 : 0)
        for t in 0..<frames {
            for c in 0..<channels {
                let v = Double(x[t * channels + c]) * Double(scale[c]) + Double(shift[c])
                let exact = gelu ? 0.5 * v * (1 + erf(v / 2.0.squareRoot())) : v
                #expect(abs(Double(y[t * channels + c]) - exact) <= 2e-6 + 1e-6 * abs(exact), "frame \(t) channel \(c)")
            }
        }
    }

    @Test func channelMomentsSumOverTime() {
        let frames = 1001, channels = 24
        let x = (0..<(frames * channels)).map { Float(sin(Double($0) * 0.013) + 0.25) }
        var sums = [Double](repeating: 0.5, count: channels), squares = [Double](repeating: 0.25, count: channels)
        ck_channel_moments(x, frames, channels, &sums, &squares)  // adds to what the arrays hold
        for c in 0..<channels { sums[c] -= 0.5; squares[c] -= 0.25 }
        for c in 0..<channels {
            let column = (0..<frames).map { Double(x[$0 * channels + c]) }
            #expect(abs(sums[c] - column.reduce(0, +)) <= 1e-9 * Double(frames))  // double accumulation
            #expect(abs(squares[c] - column.reduce(0) { $0 + $1 * $1 }) <= 1e-9 * Double(frames))
        }
    }

    @Test(arguments: [64, 13]) func symmetricInt8RoundsHalfAwayFromZero(columns: Int) {
        // 64 columns take the AVX2 path where the CPU has it, 13 the portable one; row 0 holds exact halves
        // (x.5 * scale) and values just below them, row 1 is all zero.
        let rows = 3
        var w = [Float](repeating: 0, count: rows * columns)
        for c in 0..<columns {
            let half = Float(c % 9) - 4 + 0.5
            w[c] = c == 0 ? 127 : (c % 2 == 0 ? half : half.nextDown)
            w[2 * columns + c] = Float(sin(Double(c) * 1.3) * 3)
        }
        var q = [Int8](repeating: 99, count: w.count), scales = [Float](repeating: .nan, count: rows)
        ck_quantize_symmetric_s8(w, rows, columns, &q, &scales)
        #expect(scales[1] == 0 && q[columns..<(2 * columns)].allSatisfy { $0 == 0 })
        for r in [0, 2] {
            let scale = w[(r * columns)..<((r + 1) * columns)].map(abs).max()! / 127
            #expect(scales[r] == scale)
            for c in 0..<columns {
                let expected = Int8(max(-127, min(127, (w[r * columns + c] / scale).rounded())))
                #expect(q[r * columns + c] == expected, "row \(r) column \(c): \(w[r * columns + c])")
            }
        }
    }

    @Test func finiteMaxAbsAndErrorMoments() {
        var maxAbs: Float = 0
        #expect(ck_finite_max_abs([1, -3.5, 2], 3, &maxAbs) == 1 && maxAbs == 3.5)
        #expect(ck_finite_max_abs([1, .nan, 2], 3, &maxAbs) == 0)
        #expect(ck_finite_max_abs([1, 2, -.infinity], 3, &maxAbs) == 0)
        var largest: Float = 0, errors = 0.0, values = 0.0
        ck_error_moments([1, -2, 3], [1.5, -2, 2], 3, &largest, &errors, &values)
        #expect(largest == 1 && errors == 1.25 && values == 14)
    }

    /// The shared zero point is the least-cost one over every candidate (the ternary search relies on the cost being
    /// convex), and the codes around it keep each row's range: x ~ scale * (q - zero) within half a step.
    @Test(arguments: [255, 127]) func commonZeroPointIsTheLeastCostOneAndCodesKeepTheRows(maximum: Int32) {
        let rows = 40, columns = 24
        var random = TestRandom(state: 0xA11C_E5ED)
        // Rows of every shape: post-GELU (small negative tail), symmetric, all positive, all negative, all zero.
        var x = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let (low, high): (Float, Float) = [(-0.17, 1 + Float(r % 7)), (-2, 2), (0.5, 3), (-4, -1), (0, 0)][r % 5]
            for c in 0..<columns { x[r * columns + c] = low + (high - low) * (random.next() + 1) / 2 }
        }
        var lows = [Float](repeating: 0, count: rows), highs = [Float](repeating: 0, count: rows)
        ck_row_ranges(x, rows, columns, columns, &lows, &highs)
        let zero = ck_common_zero_point(lows, highs, rows, maximum)
        func step(_ r: Int, _ z: Int32) -> Double {
            let below = lows[r] < 0 ? (z > 0 ? -Double(lows[r]) / Double(z) : .infinity) : 0
            let above = highs[r] > 0 ? (z < maximum ? Double(highs[r]) / Double(maximum - z) : .infinity) : 0
            return max(below, above)
        }
        func cost(_ z: Int32) -> Double {
            (0..<rows).reduce(0.0) { sum, r in
                let range = Double(highs[r]) - Double(lows[r])
                guard range > 0 else { return sum }
                let ratio = step(r, z) * Double(maximum) / range
                return sum + ratio * ratio
            }
        }
        let best = (0...maximum).map(cost).min()!
        #expect(cost(zero) <= best * (1 + 1e-12), "zero point \(zero) costs \(cost(zero)), the least is \(best)")
        var codes = [UInt8](repeating: 0, count: rows * columns), scales = [Float](repeating: 0, count: rows)
        ck_quantize_rows_common_zero(x, rows, columns, columns, maximum, zero, lows, highs, &codes, &scales)
        for r in 0..<rows {
            #expect(Double(scales[r]) == Double(Float(step(r, zero))) || (step(r, zero) == 0 && scales[r] == 1), "row \(r)")
            for c in 0..<columns {
                #expect(codes[r * columns + c] <= UInt8(maximum))
                let decoded = Double(scales[r]) * (Double(codes[r * columns + c]) - Double(zero))
                #expect(abs(decoded - Double(x[r * columns + c])) <= Double(scales[r]) * 0.5001, "row \(r) column \(c)")
            }
        }
    }
}

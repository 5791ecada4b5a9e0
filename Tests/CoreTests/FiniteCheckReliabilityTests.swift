import Foundation
import Testing
import TestSupport
@testable import UniSpeechCore

@Suite struct FiniteCheckReliabilityTests {
    @Test func findsNaNAndInfInEveryFloatType() {
        let values: [Float] = [1, .nan, -.infinity, 0, .infinity, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude]
        let expected = NonFiniteCount(name: "w", nan: 1, infinite: 2, firstIndex: 1)
        #expect(FiniteCheck.scan(TensorBytes(values: values), dtype: .f32, name: "w") == expected)
        #expect(FiniteCheck.scan(TensorBytes(values: values.map(Double.init)), dtype: .f64, name: "w") == expected)
        #expect(FiniteCheck.scan(TensorBytes(values: values.map { Float16($0).bitPattern }), dtype: .f16, name: "w")
            == NonFiniteCount(name: "w", nan: 1, infinite: 3, firstIndex: 1))  // f32 max rounds to Inf in f16
        #expect(FiniteCheck.scan(TensorBytes(values: values.map { UInt16($0.bitPattern >> 16) }), dtype: .bf16, name: "w") == expected)
        #expect(FiniteCheck.scan(values, name: "w") == expected)
    }

    @Test func finiteDataAndIntegersReportNothing() {
        #expect(FiniteCheck.scan(TensorBytes(values: [Float](repeating: 3, count: 5)), dtype: .f32, name: "w") == nil)
        #expect(FiniteCheck.scan(TensorBytes(values: [UInt32(0x7FC0_0000)]), dtype: .i32, name: "i") == nil)
        #expect(FiniteCheck.scan([], name: "empty") == nil)
    }
}

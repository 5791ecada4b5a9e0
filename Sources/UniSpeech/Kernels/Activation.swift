import Foundation

/// Element-wise activations by their transformers ACT2FN names.
public enum Activation: String, Sendable, CaseIterable {
    case gelu, geluNew = "gelu_new", geluFast = "gelu_fast", geluPytorchTanh = "gelu_pytorch_tanh"
    case quickGelu = "quick_gelu", relu, relu6, silu, swish, tanh, sigmoid, linear, mish
    case leakyRelu = "leaky_relu"

    /// Config names accepted for `hidden_act` and `feat_extract_activation`.
    public static var names: Set<String> { Set(allCases.map(\.rawValue)) }

    /// torch.nn.LeakyReLU's default negative slope.
    static let leakyReluSlope: Float = 0.01

    /// Applies the activation to every value, in place.
    public func apply(_ x: inout [Float]) {
        let tanhCoefficient = Float((2.0 / Double.pi).squareRoot())
        let inverseSqrt2 = Float(1 / 2.0.squareRoot())
        switch self {
        case .gelu:
            x.withUnsafeMutableBufferPointer { values in
                for i in values.indices { let v = values[i]; values[i] = 0.5 * v * (1 + Self.erf(v * inverseSqrt2)) }
            }
        case .geluNew, .geluPytorchTanh:
            for i in x.indices { let v = x[i]; x[i] = 0.5 * v * (1 + Foundation.tanh(tanhCoefficient * (v + 0.044715 * v * v * v))) }
        case .geluFast:
            for i in x.indices { let v = x[i]; x[i] = 0.5 * v * (1 + Foundation.tanh(v * 0.7978845608 * (1 + 0.044715 * v * v))) }
        case .quickGelu:
            for i in x.indices { let v = x[i]; x[i] = v / (1 + exp(-1.702 * v)) }
        case .relu:
            for i in x.indices { x[i] = max(x[i], 0) }
        case .relu6:
            for i in x.indices { x[i] = min(max(x[i], 0), 6) }
        case .silu, .swish:
            for i in x.indices { let v = x[i]; x[i] = v / (1 + exp(-v)) }
        case .tanh:
            for i in x.indices { x[i] = Foundation.tanh(x[i]) }
        case .sigmoid:
            for i in x.indices { x[i] = 1 / (1 + exp(-x[i])) }
        case .linear:
            break
        case .mish:
            for i in x.indices { let v = x[i]; x[i] = v * Foundation.tanh(log1p(exp(v))) }
        case .leakyRelu:
            for i in x.indices where x[i] < 0 { x[i] *= Self.leakyReluSlope }
        }
    }

    /// erf for f32 as a rational function of x^2 on [-4, 4] (Eigen's float erf; a few ulp), branch-free so the
    /// compiler can vectorize the loops that call it.
    @inline(__always)
    static func erf(_ value: Float) -> Float {
        let x = min(max(value, -4), 4)
        let x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q: Float = -1.45660718464996e-05
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return x * p / q
    }
}

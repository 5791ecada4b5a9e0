import CKernels
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
        let count = x.count
        guard count > 0 else { return }
        x.withUnsafeMutableBufferPointer { apply($0.baseAddress!, count: count) }
    }

    /// Applies the activation to the `count` values at `x`, in place.
    func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let tanhCoefficient = Float((2.0 / Double.pi).squareRoot())
        let x = UnsafeMutableBufferPointer(start: x, count: count)
        switch self {
        case .gelu:
            ck_gelu(x.baseAddress!, x.baseAddress!, count)
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
}

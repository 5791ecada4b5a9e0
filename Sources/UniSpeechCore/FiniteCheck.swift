import Foundation

/// How many NaN and infinite values one tensor (or input) holds.
public struct NonFiniteCount: Sendable, Equatable {
    public var name: String
    public var nan: Int
    public var infinite: Int
    /// Flat index of the first non-finite value.
    public var firstIndex: Int

    public init(name: String, nan: Int, infinite: Int, firstIndex: Int) {
        self.name = name
        self.nan = nan
        self.infinite = infinite
        self.firstIndex = firstIndex
    }

    /// "name: 2 NaN, 1 Inf (first at index 7)".
    public var summary: String { "\(name): \(nan) NaN, \(infinite) Inf (first at index \(firstIndex))" }
}

/// Why weights or inputs were refused.
public enum FiniteCheckError: LocalizedError, Equatable {
    case nonFiniteWeights(source: String, counts: [NonFiniteCount])
    case nonFiniteInput(path: String, count: NonFiniteCount)

    public var errorDescription: String? {
        switch self {
        case let .nonFiniteWeights(source, counts):
            return "\(source): weights hold NaN or Inf values, in tensor " + counts.map(\.summary).joined(separator: "; tensor ")
        case let .nonFiniteInput(path, count):
            return "\(path): the input holds NaN or Inf values (\(count.nan) NaN, \(count.infinite) Inf, the first at sample \(count.firstIndex))"
        }
    }
}

/// Finds NaN and Inf in stored floating-point data without converting it.
public enum FiniteCheck {
    /// The count for `bytes` holding `dtype` elements, or nil when every value is finite (or the type is an integer type).
    public static func scan(_ bytes: TensorBytes, dtype: DType, name: String) -> NonFiniteCount? {
        switch dtype {
        case .f32: return scanBits(bytes, UInt32.self, exponent: 0x7F80_0000, mantissa: 0x007F_FFFF, name: name)
        case .f64: return scanBits(bytes, UInt64.self, exponent: 0x7FF0_0000_0000_0000, mantissa: 0x000F_FFFF_FFFF_FFFF, name: name)
        case .f16: return scanBits(bytes, UInt16.self, exponent: 0x7C00, mantissa: 0x03FF, name: name)
        case .bf16: return scanBits(bytes, UInt16.self, exponent: 0x7F80, mantissa: 0x007F, name: name)
        case .i64, .i32, .i16, .i8, .u8, .bool: return nil
        }
    }

    /// The count for f32 values (audio samples, model outputs), or nil when all are finite.
    public static func scan(_ values: [Float], name: String) -> NonFiniteCount? {
        var count = NonFiniteCount(name: name, nan: 0, infinite: 0, firstIndex: -1)
        for (index, value) in values.enumerated() where !value.isFinite {
            if count.firstIndex < 0 { count.firstIndex = index }
            if value.isNaN { count.nan += 1 } else { count.infinite += 1 }
        }
        return count.firstIndex < 0 ? nil : count
    }

    /// Every floating-point tensor of `source` that holds a NaN or Inf, in the source's order.
    public static func scan(_ source: any TensorSource) throws -> [NonFiniteCount] {
        try source.tensors.compactMap { info in
            info.dtype.isFloatingPoint ? scan(try source.bytes(of: info.name), dtype: info.dtype, name: info.name) : nil
        }
    }

    /// Throws naming every floating-point tensor of `source` that holds a NaN or Inf.
    public static func requireFinite(_ source: any TensorSource, description: String) throws {
        let counts = try scan(source)
        guard counts.isEmpty else { throw FiniteCheckError.nonFiniteWeights(source: description, counts: counts) }
    }

    /// Throws when `values` (the input file `description`) hold a NaN or Inf.
    public static func requireFinite(_ values: [Float], description: String) throws {
        guard let count = scan(values, name: "samples") else { return }
        throw FiniteCheckError.nonFiniteInput(path: description, count: count)
    }

    private static func scanBits<Bits: FixedWidthInteger & UnsignedInteger>(
        _ bytes: TensorBytes, _: Bits.Type, exponent: Bits, mantissa: Bits, name: String
    ) -> NonFiniteCount? {
        bytes.withUnsafeBytes { raw in
            var count = NonFiniteCount(name: name, nan: 0, infinite: 0, firstIndex: -1)
            let stride = MemoryLayout<Bits>.size
            for index in 0..<(raw.count / stride) {
                let bits = raw.loadUnaligned(fromByteOffset: index * stride, as: Bits.self)
                guard bits & exponent == exponent else { continue }
                if count.firstIndex < 0 { count.firstIndex = index }
                if bits & mantissa != 0 { count.nan += 1 } else { count.infinite += 1 }
            }
            return count.firstIndex < 0 ? nil : count
        }
    }
}

import CKernels

/// The arithmetic of storing weights in fewer bits, for the quantiser: symmetric int8 per row and the error a
/// stored form introduces.
public enum WeightQuantization {
    /// The largest |value|, or nil when a value is NaN or infinite.
    public static func finiteMaxAbs(_ values: [Float]) -> Float? {
        var maxAbs: Float = 0
        return ck_finite_max_abs(values, values.count, &maxAbs) != 0 ? maxAbs : nil
    }

    /// Symmetric int8 per row of a [rows, columns] matrix: scale = max |row| / 127, q = round(w / scale) half away
    /// from zero (0 codes and scale for an all-zero row).
    public static func symmetricInt8(_ values: [Float], rows: Int, columns: Int) -> (codes: [Int8], scales: [Float]) {
        precondition(values.count == rows * columns, "\(values.count) values are not [\(rows), \(columns)]")
        var codes = [Int8](repeating: 0, count: values.count)
        var scales = [Float](repeating: 0, count: rows)
        if !values.isEmpty { ck_quantize_symmetric_s8(values, rows, columns, &codes, &scales) }
        return (codes, scales)
    }

    /// w = q * scale[row] for a [rows, columns] int8 matrix.
    public static func dequantize(_ codes: [Int8], scales: [Float], columns: Int) -> [Float] {
        var values = [Float](repeating: 0, count: codes.count)
        for (row, scale) in scales.enumerated() {
            for index in (row * columns)..<((row + 1) * columns) { values[index] = Float(codes[index]) * scale }
        }
        return values
    }

    /// max |original - stored| and ||original - stored||₂ / ||original||₂ (0 for an all-zero original).
    public static func error(original: [Float], stored: [Float]) -> (maxAbs: Float, relative: Double) {
        precondition(original.count == stored.count, "stored tensor differs in size")
        var maxAbs: Float = 0
        var errorSquares = 0.0, valueSquares = 0.0
        ck_error_moments(original, stored, original.count, &maxAbs, &errorSquares, &valueSquares)
        return (maxAbs, valueSquares > 0 ? (errorSquares / valueSquares).squareRoot() : 0)
    }
}

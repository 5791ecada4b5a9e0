/// Branch-free f32 math the compiler can vectorize inside element loops.
enum FastMath {
    /// e^x for f32 (Cephes' expf: range reduction by ln 2 and a degree-6 polynomial; about 1 ulp on
    /// [-87, 88]); inputs below -87.3 give ~1e-38 instead of 0, which no softmax can tell apart.
    @inline(__always)
    static func exp(_ value: Float) -> Float {
        let x = min(max(value, -87.3), 88.7)
        // n = round(x / ln 2) through the 1.5 * 2^23 shifter, whose low mantissa bits then hold n.
        let shifted = x * 1.44269504088896341 + 12582912.0
        let n = shifted - 12582912.0
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let polynomial = p * r * r + r + 1
        // 2^n: n + 127 into the exponent field.
        let twoToN = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return polynomial * twoToN
    }
}

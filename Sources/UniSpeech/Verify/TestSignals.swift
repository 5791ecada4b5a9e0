import Foundation

/// The built-in deterministic inputs verify uses when no audio is given: a chirp, a chord of tones in
/// seeded noise, and seeded noise under a decaying envelope, of different lengths so they form one padded batch.
public enum TestSignals {
    /// Name, duration in seconds and generator of each signal.
    static let definitions: [(name: String, seconds: Double, make: @Sendable (Int, Int) -> [Float])] = [
        ("chirp-100Hz-4kHz", 1.0, chirp),
        ("tones-in-noise", 0.7, tonesInNoise),
        ("decaying-noise", 0.45, decayingNoise),
    ]
    /// Seed of the noise generator.
    static let seed: UInt64 = 0x5EED_0F_5EED

    /// The signals at `samplingRate`, named.
    public static func make(samplingRate: Int) -> [(name: String, samples: [Float])] {
        definitions.map { definition in
            (definition.name, definition.make(Int((definition.seconds * Double(samplingRate)).rounded()), samplingRate))
        }
    }

    /// A linear sweep from 100 Hz to 4 kHz (or 0.45 x the rate if lower) at amplitude 0.5.
    static func chirp(count: Int, rate: Int) -> [Float] {
        let start = 100.0, end = min(4000.0, 0.45 * Double(rate))
        let duration = Double(count) / Double(rate)
        return (0..<count).map { index in
            let t = Double(index) / Double(rate)
            return Float(0.5 * sin(2 * Double.pi * (start * t + (end - start) * t * t / (2 * duration))))
        }
    }

    /// 220, 880 and 2500 Hz tones under a 3 Hz tremolo plus seeded noise 30 dB down.
    static func tonesInNoise(count: Int, rate: Int) -> [Float] {
        var noise = SplitMix64(seed: seed)
        return (0..<count).map { index in
            let t = Double(index) / Double(rate)
            let chord = [220.0, 880.0, 2500.0].reduce(0.0) { $0 + sin(2 * Double.pi * $1 * t) } / 3
            let tremolo = 0.6 + 0.4 * sin(2 * Double.pi * 3 * t)
            return Float(0.4 * tremolo * chord + 0.0126 * noise.nextGaussian())
        }
    }

    /// Seeded Gaussian noise at 0.3 RMS under an exponential decay (time constant 0.2 s).
    static func decayingNoise(count: Int, rate: Int) -> [Float] {
        var noise = SplitMix64(seed: seed &+ 1)
        return (0..<count).map { index in
            Float(0.3 * exp(-Double(index) / (0.2 * Double(rate))) * noise.nextGaussian())
        }
    }
}

/// SplitMix64: a small deterministic generator, the same on every platform.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    mutating func nextUnit() -> Double { (Double(next() >> 11) + 1) / Double(1 << 53) }

    /// Standard normal by Box-Muller.
    mutating func nextGaussian() -> Double {
        (-2 * log(nextUnit())).squareRoot() * cos(2 * Double.pi * nextUnit())
    }
}

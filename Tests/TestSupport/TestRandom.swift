/// Deterministic pseudo-random numbers in [-1, 1) (xorshift), so failures reproduce.
public struct TestRandom {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> Float {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state >> 40) / Float(1 << 23) - 1
    }
}

import Foundation

/// Builds WAV files byte by byte: 16-bit PCM, interleaved frames.
public enum WAVBytes {
    /// A RIFF/WAVE file of `frames` ([frames][channels] values in [-1, 1), stored as round(x * 32768) clamped to
    /// int16) at `rate` Hz.
    public static func pcm16(_ interleaved: [Float], channels: Int, rate: Int) -> [UInt8] {
        let data = interleaved.flatMap { value -> [UInt8] in
            let code = Int16(max(-32768, min(32767, (value * 32768).rounded())))
            return littleEndian(UInt16(bitPattern: code))
        }
        let blockAlign = channels * 2
        return Array("RIFF".utf8) + littleEndian(UInt32(36 + data.count)) + Array("WAVE".utf8)
            + Array("fmt ".utf8) + littleEndian(UInt32(16)) + littleEndian(UInt16(1)) + littleEndian(UInt16(channels))
            + littleEndian(UInt32(rate)) + littleEndian(UInt32(rate * blockAlign)) + littleEndian(UInt16(blockAlign))
            + littleEndian(UInt16(16)) + Array("data".utf8) + littleEndian(UInt32(data.count)) + data
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

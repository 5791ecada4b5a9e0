import Foundation
import UniSpeechCore

/// Paths of the committed test fixtures.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// python-soxr's resampling of the 44.1 kHz stereo chirp (scripts/make_audio_fixtures.py).
    public static let resampleGolden: JSONValue = {
        let file = path("audio/resample_golden.json")
        return try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: file)!), source: file)
    }()
}

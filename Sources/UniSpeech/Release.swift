/// This build of the library and tool.
public enum UniSpeechRelease {
    /// The release number, printed by `unispeech --version`.
    public static let version = "0.3.0"
}

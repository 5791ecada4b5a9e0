import Foundation

/// Writes for people on stderr: error lines always, progress only when stderr is a terminal.
public enum Console {
    /// True when stderr is a terminal (progress lines are shown only then).
    public static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes one line to stderr.
    public static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Rewrites the current progress line on a terminal; silent otherwise.
    public static func progress(_ line: String) {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Ends a progress line started with `progress`.
    public static func progressDone() {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

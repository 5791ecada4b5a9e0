import Foundation
import UniSpeech

/// Writes for people on stderr: error lines always, progress only when stderr is a terminal.
enum Console {
    /// True when stderr is a terminal (progress lines are shown only then).
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes one line to stderr.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Draws the library's progress reports as one rewritten line on a terminal; nil (silent) otherwise.
    static var progress: ProgressHandler? {
        guard stderrIsTerminal else { return nil }
        return { event in
            switch event {
            case let .step(line): FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            case .finished: FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            }
        }
    }
}

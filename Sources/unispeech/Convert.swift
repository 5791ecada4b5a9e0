import ArgumentParser
import UniSpeech

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "convert", abstract: "Not built yet (see the open issues).")

    func run() throws {
        throw ValidationError("'convert' is not built yet")
    }
}

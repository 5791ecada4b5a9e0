import ArgumentParser
import UniSpeech

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Not built yet (see the open issues).")

    func run() throws {
        throw ValidationError("'run' is not built yet")
    }
}

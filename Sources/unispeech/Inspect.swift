import ArgumentParser
import UniSpeech

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Not built yet (see the open issues).")

    func run() throws {
        throw ValidationError("'inspect' is not built yet")
    }
}

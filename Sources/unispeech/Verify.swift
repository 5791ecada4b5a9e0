import ArgumentParser
import UniSpeech

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Not built yet (see the open issues).")

    func run() throws {
        throw ValidationError("'verify' is not built yet")
    }
}

import ArgumentParser
import UniSpeech

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quantize", abstract: "Not built yet (see the open issues).")

    func run() throws {
        throw ValidationError("'quantize' is not built yet")
    }
}

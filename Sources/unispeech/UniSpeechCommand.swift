import ArgumentParser
import Foundation
import UniSpeech

@main
struct UniSpeechCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unispeech",
        abstract: "Convert, inspect, quantise, verify and run UniSpeech speech models.",
        subcommands: [Inspect.self, Convert.self, Quantize.self, Verify.self, Run.self]
    )

    /// Exit statuses of the command-line contract.
    enum Status {
        static let checkFailed: Int32 = 1
        static let badInput: Int32 = 2
    }

    /// Runs the command; every error becomes one line on stderr and exit status 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as LocalizedError where error.errorDescription != nil {
            Console.error("unispeech: \(error.errorDescription!)")
            Foundation.exit(Status.badInput)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            Console.error(fullMessage(for: error))
            Foundation.exit(Status.badInput)
        }
    }
}

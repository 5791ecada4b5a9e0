import Foundation
import UniSpeech

/// A fuzz input split into its parts: `<case>[ <language>]\n<config.json>[\0<preprocessor_config.json>]`.
struct ConfigInput {
    var caseName: String
    var language: String?
    var config: [UInt8]
    var preprocessor: [UInt8]?

    init(caseName: String, language: String?, config: [UInt8], preprocessor: [UInt8]?) {
        self.caseName = caseName
        self.language = language
        self.config = config
        self.preprocessor = preprocessor
    }

    /// Splits `bytes`; nil without a first line.
    init?(_ bytes: [UInt8]) {
        guard let newline = bytes.firstIndex(of: 0x0A) else { return nil }
        let words = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
        caseName = String(words[0])
        language = words.count > 1 ? words[1...].joined(separator: " ") : nil
        let rest = bytes[(newline + 1)...]
        if let separator = rest.firstIndex(of: 0) {
            config = Array(rest[..<separator])
            preprocessor = Array(rest[(separator + 1)...])
        } else {
            config = Array(rest)
            preprocessor = nil
        }
    }

    /// The input's bytes.
    var bytes: [UInt8] {
        var result = Array((caseName + (language.map { " " + $0 } ?? "") + "\n").utf8) + config
        if let preprocessor { result += [0] + preprocessor }
        return result
    }
}

/// The family golden cases whose weights the inputs are put beside, each in its own directory on tmpfs holding
/// symlinks to the case's weight and adapter files; and every field and value their config files hold (the
/// mutator's vocabulary).
final class FamilyFixtures: @unchecked Sendable {
    /// Tests/Fixtures/family of this repository.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/family").path
    /// The files of a case linked into its work directory.
    static func isWeightFile(_ name: String) -> Bool { name == "model.safetensors" || name.hasPrefix("adapter.") }

    /// Case name -> work directory.
    let workDirectories: [String: String]
    let caseNames: [String]
    /// Case name -> the languages of its adapter files.
    let languages: [String: [String]]
    /// Every value each field has in some case's config.json / preprocessor_config.json.
    let configValues: [String: [JSONValue]]
    let preprocessorValues: [String: [JSONValue]]

    private init(workDirectories: [String: String], languages: [String: [String]],
                 configValues: [String: [JSONValue]], preprocessorValues: [String: [JSONValue]]) {
        self.workDirectories = workDirectories
        caseNames = workDirectories.keys.sorted()
        self.languages = languages
        self.configValues = configValues
        self.preprocessorValues = preprocessorValues
    }

    static func load() -> FamilyFixtures {
        let manager = FileManager.default
        var template = Array("/dev/shm/unispeech-fuzz-config-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        var workDirectories: [String: String] = [:], languages: [String: [String]] = [:]
        var configValues: [String: [JSONValue]] = [:], preprocessorValues: [String: [JSONValue]] = [:]
        let cases = (try? manager.contentsOfDirectory(atPath: directory)) ?? []
        for name in cases.sorted() {
            let source = directory + "/" + name
            guard let files = try? manager.contentsOfDirectory(atPath: source), files.contains("config.json") else { continue }
            let work = root + "/" + name
            try! manager.createDirectory(atPath: work, withIntermediateDirectories: false)
            for file in files where isWeightFile(file) {
                try! manager.createSymbolicLink(atPath: work + "/" + file, withDestinationPath: source + "/" + file)
                if file.hasPrefix("adapter."), file.hasSuffix(".safetensors") {
                    languages[name, default: []].append(String(file.dropFirst("adapter.".count).dropLast(".safetensors".count)))
                }
            }
            workDirectories[name] = work
            collect(source + "/config.json", into: &configValues)
            collect(source + "/preprocessor_config.json", into: &preprocessorValues)
        }
        precondition(!workDirectories.isEmpty, "no family golden cases in \(directory)")
        atexit { try? FileManager.default.removeItem(atPath: fixturesRoot) }
        fixturesRoot = root
        return FamilyFixtures(workDirectories: workDirectories, languages: languages,
                              configValues: configValues, preprocessorValues: preprocessorValues)
    }

    private static func collect(_ path: String, into values: inout [String: [JSONValue]]) {
        guard let data = FileManager.default.contents(atPath: path), let json = try? JSONValue.parse([UInt8](data), source: path),
              let members = json.objectMembers else { return }
        for (key, value) in members where !(values[key] ?? []).contains(value) { values[key, default: []].append(value) }
    }

    /// Writes the input's files into its case's work directory and returns the directory; nil for an unknown case.
    func prepare(_ input: ConfigInput) -> String? {
        guard let work = workDirectories[input.caseName] else { return nil }
        write(input.config, to: work + "/" + HFCheckpoint.configFile)
        let preprocessor = work + "/" + ModelSidecars.File.preprocessorConfig.rawValue
        if let bytes = input.preprocessor { write(bytes, to: preprocessor) } else { unlink(preprocessor) }
        return work
    }

    private func write(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot write \(path): \(String(cString: strerror(errno)))")
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, $0.count) }
            precondition(n > 0, "write to \(path) failed")
            done += n
        }
    }
}

/// The work directories' root, removed at exit.
nonisolated(unsafe) private var fixturesRoot = ""

import Foundation
import FuzzSupport
import UniSpeech

/// One input: a first line naming a family golden case (a directory of Tests/Fixtures/family, whose weights are
/// used as they are) and optionally an MMS language after a space, then config.json, then optionally a NUL byte and
/// preprocessor_config.json. The two files are written beside the case's weights, the model is opened, built, and
/// run once on every head it has on a padded batch of two short waveforms; verify's built-in test signals are made
/// at the model's sampling rate, and inspect reads the directory.
private let fixtures = FamilyFixtures.load()
private let engine = try! ComputeEngine(threads: 1)
/// Two waveforms of different lengths (a padded batch, so masks and padding are used), as the goldens have.
private let waveforms: [[Float]] = [240, 170].map { count in (0..<count).map { Float(sin(Double($0) * 0.37) * 0.5) } }

/// How far the inputs got: written beside weights, opened (config and preprocessor config accepted), model built,
/// forward passes run; printed at exit.
nonisolated(unsafe) private var reached = (inputs: 0, opened: 0, built: 0, forwards: 0)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let input = ConfigInput(bytes), let directory = fixtures.prepare(input) else { return 0 }
    reached.inputs += 1
    if let inspected = try? Inspector.open(path: directory) { _ = InspectReport(inspected).text(includeTensors: true) }
    guard let bundle = try? ModelBundle.open(path: directory, targetLanguage: input.language) else { return 0 }
    reached.opened += 1
    _ = TestSignals.make(samplingRate: bundle.featureExtractor.samplingRate)
    guard let model = try? UniSpeechModel(bundle: bundle, engine: engine) else { return 0 }
    reached.built += 1
    let batch = FeatureExtractor(config: bundle.featureExtractor).makeBatch(waveforms)
    for head in model.availableHeads {
        guard let output = try? model.run(batch, head: head, hiddenStates: true) else { continue }
        reached.forwards += 1
        _ = try? RunDecoding.decode(output, bundle: bundle, tokenizer: nil)
    }
    return 0
}

/// libFuzzer's structure-aware mutation hook: JSON-level edits of the two files most of the time, so inputs stay
/// parseable and reach the config checks and the model; byte-level mutations otherwise.
@_cdecl("LLVMFuzzerCustomMutator")
public func mutateConfig(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard let data else { return 0 }
    var random = FuzzRandom(seed: UInt64(seed))
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard random.chance(4, in: 5), let input = ConfigInput(bytes),
          let mutated = ConfigMutator(fixtures: fixtures).mutate(input, random: &random)?.bytes, mutated.count <= maxSize else {
        return fuzzerMutate(data, size, maxSize)
    }
    mutated.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: $0.count) }
    return mutated.count
}

@main
enum FuzzConfigMain {
    static func main() {
        atexit {
            let line = "FuzzConfig: \(reached.inputs) inputs beside weights, \(reached.opened) opened, \(reached.built) models built, \(reached.forwards) forward passes\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        runFuzzer(fuzzConfig)
    }
}

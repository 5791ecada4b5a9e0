// Transcribes and classifies one of the demo recordings with the facade, as an app would
// (run from the repository root: `make app`).
import Foundation
import UniSpeech

let url = URL(fileURLWithPath: "examples/audio/word-7-zero.wav")
let model = try SpeechModel(path: "examples/unispeech-digits-ctc", threads: 2)  // HF dir or .unispeech
let transcript = try model.transcribe(contentsOf: url)
print(transcript.text)  // "zero"; transcript.words carries the offsets
let label = try SpeechModel(path: "examples/unispeech-digits-classifier").classify(contentsOf: url)
print(label.label, label.scores.prefix(3).map { "\($0.label) \(String(format: "%.3f", $0.score))" })
let samples = try model.load(path: url.path).samples
let outputs = try model.run(samples: samples, head: .base)  // [String: Tensor] under HF output names
print(outputs.keys.sorted(), outputs["last_hidden_state"]!.shape)

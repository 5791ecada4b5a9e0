import FuzzSupport
import UniSpeech
@testable import UniSpeechCheckpoint

/// The input as a data.pkl stream for the restricted unpickler.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUnpickler(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = try? RestrictedUnpickler.stateDict(from: bytes, source: "fuzz.pkl")
    return 0
}

@main
enum FuzzUnpicklerMain {
    static func main() { runFuzzer(fuzzUnpickler) }
}

import FuzzSupport
import UniSpeech

/// The input as a whole safetensors file: header length, JSON header, data.
private let file = MemoryFile(name: "fuzz.safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    file.replace(with: data, count: size)
    guard let reader = try? SafetensorsReader(path: file.path) else { return 0 }
    readEveryTensor(of: reader)
    return 0
}

@main
enum FuzzSafetensorsMain {
    static func main() { runFuzzer(fuzzSafetensors) }
}

import FuzzSupport
import UniSpeech

/// The input as a whole safetensors file: header length, JSON header, data.
private let file = MemoryFile(name: "fuzz.safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    file.replace(with: data, count: size)
    guard let reader = try? SafetensorsReader(path: file.path) else { return 0 }
    for info in reader.tensors {
        guard let bytes = try? reader.bytes(of: info.name) else { continue }
        precondition(bytes.count == info.byteCount, "tensor '\(info.name)' has \(bytes.count) bytes, expected \(info.byteCount)")
        if info.dtype.isFloatingPoint { _ = bytes.floats(as: info.dtype) }
    }
    return 0
}

@main
enum FuzzSafetensorsMain {
    static func main() { runFuzzer(fuzzSafetensors) }
}

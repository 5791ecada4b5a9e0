import FuzzSupport
import UniSpeech

/// The input as a whole pytorch_model.bin: zip archive, pickle and tensor data.
private let file = MemoryFile(name: "fuzz.bin")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    file.replace(with: data, count: size)
    guard let reader = try? TorchZipReader(path: file.path) else { return 0 }
    for info in reader.tensors {
        guard let bytes = try? reader.bytes(of: info.name) else { continue }
        precondition(bytes.count == info.byteCount, "tensor '\(info.name)' has \(bytes.count) bytes, expected \(info.byteCount)")
        if info.dtype.isFloatingPoint { _ = bytes.floats(as: info.dtype) }
    }
    return 0
}

@main
enum FuzzTorchZipMain {
    static func main() { runFuzzer(fuzzTorchZip) }
}

import FuzzSupport
import UniSpeech

/// The input as a whole pytorch_model.bin: zip archive, pickle and tensor data.
private let file = MemoryFile(name: "fuzz.bin")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    file.replace(with: data, count: size)
    guard let reader = try? TorchZipReader(path: file.path) else { return 0 }
    readEveryTensor(of: reader)
    return 0
}

@main
enum FuzzTorchZipMain {
    static func main() { runFuzzer(fuzzTorchZip) }
}

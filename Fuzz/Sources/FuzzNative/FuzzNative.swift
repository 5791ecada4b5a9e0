import FuzzSupport
import UniSpeech
@testable import UniSpeechFormat

/// The input as a whole .unispeech file. The header's CRC-32 in the prefix is recomputed first so that
/// mutations reach the JSON header and layout checks instead of stopping at the checksum.
private let file = MemoryFile(name: "fuzz.unispeech")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNative(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if bytes.count >= NativeFormat.prefixLength {
        let length = bytes[16..<24].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if length <= UInt64(bytes.count - NativeFormat.prefixLength) {
            let header = Array(bytes[NativeFormat.prefixLength..<(NativeFormat.prefixLength + Int(length))])
            let checksum = header.withUnsafeBytes { CRC32.checksum($0) }
            for index in 0..<4 { bytes[NativeFormat.headerChecksumOffset + index] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(index))) }
        }
    }
    bytes.withUnsafeBufferPointer { file.replace(with: $0.baseAddress, count: $0.count) }
    guard let reader = try? NativeReader(path: file.path) else { return 0 }
    try? reader.checkChecksums()
    readEveryTensor(of: reader)
    _ = try? FiniteCheck.scan(reader)
    return 0
}

@main
enum FuzzNativeMain {
    static func main() { runFuzzer(fuzzNative) }
}

import Foundation
import UniSpeech

/// libFuzzer's entry point for programs that own `main` (SwiftPM renames an executable's `main`,
/// so libFuzzer's own `main` cannot be used).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// Runs libFuzzer with the process arguments, calling `testOneInput` for every input.
public func runFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// Reads every tensor of `source`, checks its byte count against its shape, and converts float tensors,
/// so a harness reaches the data paths of a reader that opened.
public func readEveryTensor(of source: any TensorSource) {
    for info in source.tensors {
        guard let bytes = try? source.bytes(of: info.name) else { continue }
        precondition(bytes.count == info.byteCount, "tensor '\(info.name)' has \(bytes.count) bytes, expected \(info.byteCount)")
        if info.dtype.isFloatingPoint { _ = bytes.floats(as: info.dtype) }
    }
}

@_silgen_name("LLVMFuzzerMutate")
private func llvmFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

/// libFuzzer's own byte-level mutation of `data` (for custom mutators that fall back to it).
public func fuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int {
    llvmFuzzerMutate(data, size, maxSize)
}

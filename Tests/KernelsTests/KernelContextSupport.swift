import Foundation
@testable import UniSpeechKernels

/// Runs `body` with a kernel context of a fresh two-thread oneDNN engine.
func withContext<R>(threads: Int = 2, backend: GemmBackend = .onednn, _ body: (KernelContext) throws -> R) throws -> R {
    try ComputeEngine(threads: threads, backend: backend).withContext(body)
}

/// Calls `body` with a writable [rows, columns] view of `values`.
func withMutableMatrix<R>(_ values: inout [Float], rows: Int, columns: Int, rowStride: Int? = nil,
                          _ body: (MutableMatrix) throws -> R) rethrows -> R {
    try values.withUnsafeMutableBufferPointer { try body(MutableMatrix($0.baseAddress!, rows: rows, columns: columns, rowStride: rowStride)) }
}

/// Calls `body` with a read-only [rows, columns] view of `values`.
func withMatrix<R>(_ values: [Float], rows: Int, columns: Int, rowStride: Int? = nil, _ body: (Matrix) throws -> R) rethrows -> R {
    try values.withUnsafeBufferPointer { try body(Matrix($0.baseAddress!, rows: rows, columns: columns, rowStride: rowStride)) }
}

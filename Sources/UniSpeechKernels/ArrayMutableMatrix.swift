extension Array where Element == Float {
    /// Calls `body` with a writable [rows, columns] view of this array.
    public mutating func withMutableMatrix<R>(rows: Int, columns: Int, _ body: (MutableMatrix) throws -> R) rethrows -> R {
        precondition(count == rows * columns, "\(count) values are not [\(rows), \(columns)]")
        return try withUnsafeMutableBufferPointer { values in
            try body(MutableMatrix(values.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Float>.alignment)!,
                                   rows: rows, columns: columns))
        }
    }
}

/// A read-only view of row-major f32 values [rows, columns] with a row stride, into memory a `KernelContext`
/// (or an array being read) owns. Views are checked on creation and when sliced; they are valid only inside the
/// call that handed them out.
public struct Matrix: @unchecked Sendable {
    let base: UnsafePointer<Float>
    public let rows: Int
    public let columns: Int
    /// Floats from the start of one row to the start of the next.
    public let rowStride: Int

    /// Rows may overlap (row stride below the column count): a conv's input windows are read that way.
    init(_ base: UnsafePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
        let stride = rowStride ?? columns
        precondition(rows >= 0 && columns >= 0 && stride >= 0, "matrix view [\(rows), \(columns)] with row stride \(stride)")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.rowStride = stride
    }

    /// Values in the view.
    public var count: Int { rows * columns }
    /// True when the rows follow one another with no gap.
    public var isContiguous: Bool { rowStride == columns || rows <= 1 }

    /// Rows `range` of this view.
    public func rows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of a \(rows)-row view")
        return Matrix(base + range.lowerBound * rowStride, rows: range.count, columns: columns, rowStride: rowStride)
    }

    /// Columns `range` of this view (e.g. one attention head of a [T, heads * d] matrix).
    public func columns(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns, "columns \(range) of a \(columns)-column view")
        return Matrix(base + range.lowerBound, rows: rows, columns: range.count, rowStride: rowStride)
    }

    /// The same values seen as [rows, columns] of a contiguous view (e.g. [B * T, C] as [B, T * C]).
    public func reshaped(rows newRows: Int, columns newColumns: Int) -> Matrix {
        precondition(isContiguous && newRows * newColumns == count, "cannot reshape [\(rows), \(columns)] to [\(newRows), \(newColumns)]")
        return Matrix(base, rows: newRows, columns: newColumns)
    }

    /// The value at (row, column).
    public subscript(row: Int, column: Int) -> Float {
        precondition(row >= 0 && row < rows && column >= 0 && column < columns, "(\(row), \(column)) outside [\(rows), \(columns)]")
        return base[row * rowStride + column]
    }

    /// A copy of the values, row-major without gaps.
    public func array() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            for row in 0..<rows {
                (out.baseAddress! + row * columns).update(from: base + row * rowStride, count: columns)
            }
            initialized = count
        }
    }

    /// Calls `body` with the values of each row in turn.
    public func forEachRow(_ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        for row in 0..<rows { try body(row, UnsafeBufferPointer(start: base + row * rowStride, count: columns)) }
    }
}

/// A writable view of row-major f32 values [rows, columns] with a row stride; see `Matrix`.
public struct MutableMatrix: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    public let rows: Int
    public let columns: Int
    public let rowStride: Int

    init(_ base: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
        let stride = rowStride ?? columns
        precondition(rows >= 0 && columns >= 0 && (stride >= columns || rows <= 1),
                     "writable matrix view [\(rows), \(columns)] with row stride \(stride)")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.rowStride = stride
    }

    public var count: Int { rows * columns }
    public var isContiguous: Bool { rowStride == columns || rows <= 1 }
    /// The same memory, read-only.
    public var readOnly: Matrix { Matrix(base, rows: rows, columns: columns, rowStride: rowStride) }

    public func rows(_ range: Range<Int>) -> MutableMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of a \(rows)-row view")
        return MutableMatrix(base + range.lowerBound * rowStride, rows: range.count, columns: columns, rowStride: rowStride)
    }

    public func columns(_ range: Range<Int>) -> MutableMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns, "columns \(range) of a \(columns)-column view")
        return MutableMatrix(base + range.lowerBound, rows: rows, columns: range.count, rowStride: rowStride)
    }

    public func reshaped(rows newRows: Int, columns newColumns: Int) -> MutableMatrix {
        precondition(isContiguous && newRows * newColumns == count, "cannot reshape [\(rows), \(columns)] to [\(newRows), \(newColumns)]")
        return MutableMatrix(base, rows: newRows, columns: newColumns)
    }

    public subscript(row: Int, column: Int) -> Float {
        get { readOnly[row, column] }
        nonmutating set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns, "(\(row), \(column)) outside [\(rows), \(columns)]")
            base[row * rowStride + column] = newValue
        }
    }

    public func array() -> [Float] { readOnly.array() }

    /// Copies `source` (same shape) into this view.
    public func copy(from source: Matrix) {
        precondition(source.rows == rows && source.columns == columns, "copying [\(source.rows), \(source.columns)] into [\(rows), \(columns)]")
        for row in 0..<rows { (base + row * rowStride).update(from: source.base + row * source.rowStride, count: columns) }
    }

    /// Copies row-major `values` (rows * columns of them) into this view.
    public func copy(from values: [Float]) {
        precondition(values.count == count, "copying \(values.count) values into [\(rows), \(columns)]")
        values.withUnsafeBufferPointer { copy(from: Matrix($0.baseAddress!, rows: rows, columns: columns)) }
    }

    /// Sets every value to `value`.
    public func fill(_ value: Float) {
        for row in 0..<rows { (base + row * rowStride).update(repeating: value, count: columns) }
    }

    /// Calls `body` with the values of each row in turn, writable.
    public func forEachRow(_ body: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        for row in 0..<rows { try body(row, UnsafeMutableBufferPointer(start: base + row * rowStride, count: columns)) }
    }
}

extension Array where Element == Float {
    /// Calls `body` with a read-only [rows, columns] view of this array.
    public func withMatrix<R>(rows: Int, columns: Int, _ body: (Matrix) throws -> R) rethrows -> R {
        precondition(count == rows * columns, "\(count) values are not [\(rows), \(columns)]")
        return try withUnsafeBufferPointer { values in
            try body(Matrix(values.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment)!, rows: rows, columns: columns))
        }
    }

    /// A new array with the values of `matrix`.
    public init(_ matrix: Matrix) { self = matrix.array() }
}

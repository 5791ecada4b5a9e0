import CBytes
import Foundation

/// Read-only memory map of a whole file; unmapped when the last reference goes.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    let base: UnsafeRawPointer?

    /// Why a file could not be opened or mapped.
    public enum Failure: LocalizedError, Equatable {
        case cannotOpen(path: String, reason: String)

        public var errorDescription: String? {
            switch self {
            case let .cannotOpen(path, reason): return "\(path): cannot be read (\(reason))"
            }
        }
    }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw Failure.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw Failure.cannotOpen(path: path, reason: "not a regular file")
        }
        count = Int(status.st_size)
        if count == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw Failure.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// A view of `count` bytes at `offset`; the caller has checked the range.
    public func bytes(offset: Int, count: Int) -> TensorBytes {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count, "range outside \(path)")
        return TensorBytes(owner: self, pointer: base.map { $0 + offset }, count: count)
    }

    /// All bytes of the file.
    public var all: TensorBytes { bytes(offset: 0, count: count) }
}

/// IEEE half-precision encoding (F16C where the CPU has it: Swift's Float16(Float) is a software call on x86).
public enum HalfPrecision {
    /// The half bits of each value, rounded to nearest even.
    public static func encode(_ values: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { out, initialized in
            if let base = out.baseAddress { cb_f32_to_f16(values, base, values.count) }
            initialized = values.count
        }
    }
}

/// A heap buffer that owns its bytes.
final class HeapBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }
}

/// Bytes of one tensor (or any byte range): a view into a mapped file or an owned buffer.
/// Reads are unaligned-safe.
public struct TensorBytes: @unchecked Sendable {
    let owner: AnyObject?
    let pointer: UnsafeRawPointer?
    public let count: Int

    init(owner: AnyObject?, pointer: UnsafeRawPointer?, count: Int) {
        self.owner = owner
        self.pointer = pointer
        self.count = count
    }

    /// Copies `bytes` into a new owned buffer.
    public init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        let buffer = HeapBuffer(count: bytes.count)
        UnsafeMutableRawBufferPointer(start: buffer.pointer, count: bytes.count).copyBytes(from: bytes)
        self.init(owner: buffer, pointer: UnsafeRawPointer(buffer.pointer), count: bytes.count)
    }

    /// The raw bytes of `values` (host order is little-endian on every supported machine).
    public init<T: BitwiseCopyable>(values: [T]) {
        let byteCount = values.count * MemoryLayout<T>.stride
        let buffer = HeapBuffer(count: byteCount)
        values.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer.pointer), byteCount: byteCount) }
        self.init(owner: buffer, pointer: UnsafeRawPointer(buffer.pointer), count: byteCount)
    }

    /// A sub-range; the caller has checked it.
    public func slice(offset: Int, count: Int) -> TensorBytes {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count, "slice outside buffer")
        return TensorBytes(owner: owner, pointer: pointer.map { $0 + offset }, count: count)
    }

    /// Calls `body` with the bytes; the pointer is valid only inside `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) {
            try body(UnsafeRawBufferPointer(start: pointer, count: count))
        }
    }

    /// A copy as a byte array.
    public var array: [UInt8] { withUnsafeBytes { Array($0) } }

    /// True when the bytes start on a `alignment`-byte boundary (so they can be used in place).
    public func isAligned(to alignment: Int) -> Bool {
        guard let pointer else { return true }
        return Int(bitPattern: pointer) % alignment == 0
    }

    /// Elements of type `T`, copied out with unaligned loads.
    public func load<T: BitwiseCopyable>(as type: T.Type) -> [T] {
        let n = count / MemoryLayout<T>.stride
        return withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: n) { out, initialized in
                if n > 0 {
                    UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(n * MemoryLayout<T>.stride)]))
                }
                initialized = n
            }
        }
    }

    /// The elements converted to f32 from a stored floating-point `dtype`.
    public func floats(as dtype: DType) -> [Float] {
        switch dtype {
        case .f32: return load(as: Float.self)
        case .f64: return load(as: Double.self).map { Float($0) }
        case .f16:
            let n = count / MemoryLayout<UInt16>.stride
            if n == 0 { return [] }
            guard isAligned(to: MemoryLayout<UInt16>.alignment) else { return TensorBytes(values: load(as: UInt16.self)).floats(as: .f16) }
            return withUnsafeBytes { raw in
                [Float](unsafeUninitializedCapacity: n) { out, initialized in
                    // In place from the (mapped) bytes; F16C when the CPU has it: ~20x Float16 -> Float.
                    cb_f16_to_f32(raw.baseAddress!.assumingMemoryBound(to: UInt16.self), out.baseAddress!, n)
                    initialized = n
                }
            }
        case .bf16: return load(as: UInt16.self).map { Float(bitPattern: UInt32($0) << 16) }
        case .i8: return load(as: Int8.self).map { Float($0) }
        case .u8, .bool: return load(as: UInt8.self).map { Float($0) }
        case .i16: return load(as: Int16.self).map { Float($0) }
        case .i32: return load(as: Int32.self).map { Float($0) }
        case .i64: return load(as: Int64.self).map { Float($0) }
        }
    }
}

import Foundation
import UniSpeechCore
import UniSpeechKernels

/// One tensor a native file will hold, before its bytes exist.
public struct PlannedTensor: Sendable, Equatable {
    public var info: TensorInfo
    /// For i8 tensors: the f32 tensor holding the per-output-channel scales.
    public var scaleTensor: String?

    public init(info: TensorInfo, scaleTensor: String? = nil) {
        self.info = info
        self.scaleTensor = scaleTensor
    }
}

/// Writes `.unispeech` files tensor by tensor, holding one group of tensors in memory at a time.
public enum NativeWriter {
    /// Writes `header` with a tensor table built from `plan`, then the bytes `produce(group)` returns
    /// for each group of `plan`, in order. The checksums are filled into the header after the data, and then
    /// `completeHeader` may change it (keeping its serialised length). Atomic (temp file, fsync, rename);
    /// refuses to write over any of `inputs`. Returns the header written.
    @discardableResult
    public static func write(to path: String, inputs: [String], header: NativeHeader, plan: [[PlannedTensor]],
                             completeHeader: (inout NativeHeader) -> Void = { _ in },
                             produce: (Int) throws -> [TensorBytes]) throws -> NativeHeader {
        var header = header
        var offset = 0
        header.tensors = plan.joined().map { planned in
            let entry = NativeTensorEntry(info: planned.info, offset: offset, byteCount: planned.info.byteCount,
                                          crc32: 0, scaleTensor: planned.scaleTensor)
            offset = NativeFormat.aligned(offset + entry.byteCount)
            return entry
        }
        var seen = Set<String>()
        for entry in header.tensors where !seen.insert(entry.info.name).inserted {
            preconditionFailure("tensor '\(entry.info.name)' planned twice")
        }
        let placeholder = Array(header.json.serialized().utf8)

        try AtomicFile.write(to: path, inputs: inputs) { sink in
            try sink.write(prefix(header: placeholder))
            try sink.write(placeholder)
            try sink.pad(to: NativeFormat.alignment)
            let dataStart = sink.offset
            var row = 0
            for group in plan.indices {
                let buffers = try produce(group)
                precondition(buffers.count == plan[group].count, "group \(group) produced \(buffers.count) tensors, planned \(plan[group].count)")
                for buffer in buffers {
                    precondition(buffer.count == header.tensors[row].byteCount,
                                 "tensor '\(header.tensors[row].info.name)' produced \(buffer.count) bytes, planned \(header.tensors[row].byteCount)")
                    try sink.pad(to: NativeFormat.alignment)
                    precondition(sink.offset - dataStart == header.tensors[row].offset)
                    var crc: UInt32 = 0
                    try sink.write(buffer) { crc = CRC32.update(crc, $0) }
                    header.tensors[row].crc32 = crc
                    row += 1
                }
            }
            completeHeader(&header)
            let final = Array(header.json.serialized().utf8)
            precondition(final.count == placeholder.count, "header length changed when it was completed")
            try sink.overwrite(prefix(header: final), at: 0)
            try sink.overwrite(final, at: NativeFormat.prefixLength)
        }
        return header
    }

    /// Magic, format version, the header's CRC-32 and its length, little-endian.
    static func prefix(header: [UInt8]) -> [UInt8] {
        NativeFormat.magic + littleEndian(NativeFormat.version) + littleEndian(CRC32.checksum(header))
            + littleEndian(UInt64(header.count))
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

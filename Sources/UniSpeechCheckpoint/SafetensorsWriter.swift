import Foundation
import UniSpeechCore

/// Writes tensors as one .safetensors file, atomically.
public enum SafetensorsWriter {
    /// One tensor to write; `bytes` holds exactly shape-product x dtype-size little-endian bytes.
    public struct Entry: Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: TensorBytes

        public init(name: String, dtype: DType, shape: [Int], bytes: TensorBytes) {
            precondition(shape.reduce(1, *) * dtype.size == bytes.count, "tensor '\(name)' bytes do not match its shape")
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// An f32 tensor from values.
        public init(name: String, shape: [Int], floats: [Float]) {
            self.init(name: name, dtype: .f32, shape: shape, bytes: TensorBytes(values: floats))
        }
    }

    /// The header is padded with spaces to a multiple of this, so tensor data starts aligned.
    static let headerAlignment = 8

    /// Writes `entries` in order to `path` (never over one of `inputs`), with optional string metadata.
    public static func write(_ entries: [Entry], metadata: [(key: String, value: String)] = [], to path: String,
                             inputs: [String] = []) throws {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            members.append(("__metadata__", .object(metadata.map { ($0.key, JSONValue.string($0.value)) })))
        }
        var offset = 0
        for entry in entries {
            members.append((entry.name, .object([
                ("dtype", .string(entry.dtype.rawValue)),
                ("shape", .array(entry.shape.map { .int(Int64($0)) })),
                ("data_offsets", .array([.int(Int64(offset)), .int(Int64(offset + entry.bytes.count))])),
            ])))
            offset += entry.bytes.count
        }
        var header = Array(JSONValue.object(members).serialized().utf8)
        let remainder = header.count % headerAlignment
        if remainder != 0 { header += [UInt8](repeating: UInt8(ascii: " "), count: headerAlignment - remainder) }
        try AtomicFile.write(to: path, inputs: inputs) { sink in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink.write($0) }
            try sink.write(header)
            for entry in entries { try sink.write(entry.bytes) }
        }
    }
}

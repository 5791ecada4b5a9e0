import Foundation
import UniSpeechCore

/// Builds torch.save-style checkpoints byte by byte: a state-dict pickle and the zip around it.
public enum TorchZipBytes {
    /// One `_rebuild_tensor_v2` entry of a state dict.
    public struct Tensor {
        public var name = "w"
        public var storageKey = "0"
        public var storageType = "FloatStorage"
        public var storageElements = 4
        public var offset = 0
        public var shape = [2, 2]
        public var strides = [2, 1]
        /// The storage offset's pickle bytes, when not the plain 8-byte LONG1 of `offset`.
        public var offsetOpcodes: [UInt8]? = nil

        public init(name: String = "w", storageKey: String = "0", storageType: String = "FloatStorage", storageElements: Int = 4,
                    offset: Int = 0, shape: [Int] = [2, 2], strides: [Int] = [2, 1], offsetOpcodes: [UInt8]? = nil) {
            self.name = name
            self.storageKey = storageKey
            self.storageType = storageType
            self.storageElements = storageElements
            self.offset = offset
            self.shape = shape
            self.strides = strides
            self.offsetOpcodes = offsetOpcodes
        }
    }

    /// The data.pkl of an OrderedDict of `tensors`, with the opcodes torch.save (protocol 2) uses.
    public static func statePickle(_ tensors: [Tensor]) -> [UInt8] {
        var out: [UInt8] = [0x80, 0x02] + global("collections", "OrderedDict") + [0x29, 0x52, 0x28]  // PROTO, OrderedDict(), MARK
        for tensor in tensors {
            out += text(tensor.name) + global("torch._utils", "_rebuild_tensor_v2") + [0x28]
            out += [0x28] + text("storage") + global("torch", tensor.storageType) + text(tensor.storageKey) + text("cpu")
                + int(tensor.storageElements) + [0x74, 0x51]  // TUPLE, BINPERSID
            out += (tensor.offsetOpcodes ?? int(tensor.offset)) + [0x28] + tensor.shape.flatMap(int) + [0x74] + [0x28] + tensor.strides.flatMap(int) + [0x74]
            out += [0x89] + global("collections", "OrderedDict") + [0x29, 0x52] + [0x74, 0x52]  // False, hooks, TUPLE, REDUCE
        }
        return out + [0x75, 0x2E]  // SETITEMS, STOP
    }

    public static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }

    public static func text(_ string: String) -> [UInt8] {
        let raw = Array(string.utf8)
        return [0x58] + le32(UInt32(raw.count)) + raw
    }

    /// LONG1 with 8 bytes: any Int.
    public static func int(_ value: Int) -> [UInt8] { [0x8A, 8] + le64(UInt64(bitPattern: Int64(value))) }

    public static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    public static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    public static func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// One zip member; the overrides write a wrong method, checksum or declared size into both headers.
    public struct Member {
        public var name: String
        public var data: [UInt8]
        public var method: UInt16 = 0
        public var crc: UInt32? = nil
        public var declaredSize: UInt32? = nil

        public init(name: String, data: [UInt8], method: UInt16 = 0, crc: UInt32? = nil, declaredSize: UInt32? = nil) {
            self.name = name
            self.data = data
            self.method = method
            self.crc = crc
            self.declaredSize = declaredSize
        }
    }

    /// The members of a valid checkpoint holding one f32 [2, 2] tensor "w" = [1, 2, 3, 4].
    public static func members(pickle: [UInt8] = statePickle([Tensor()]), storage: [UInt8] = SafetensorsBytes.floats([1, 2, 3, 4])) -> [Member] {
        [Member(name: "archive/data.pkl", data: pickle), Member(name: "archive/byteorder", data: Array("little".utf8)),
         Member(name: "archive/data/0", data: storage), Member(name: "archive/version", data: Array("3\n".utf8))]
    }

    /// A zip archive of stored members: local headers, central directory, end record.
    public static func archive(_ members: [Member]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for member in members {
            let name = Array(member.name.utf8)
            let crc = member.crc ?? member.data.withUnsafeBytes { CRC32.checksum($0) }
            let size = member.declaredSize ?? UInt32(member.data.count)
            let common = le16(20) + le16(0) + le16(member.method) + le16(0) + le16(0x21) + le32(crc) + le32(size) + le32(size)
                + le16(UInt16(name.count)) + le16(0)
            central += le32(0x0201_4B50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(out.count)) + name
            out += le32(0x0403_4B50) + common + name + member.data
        }
        let count = le16(UInt16(members.count))
        return out + central + le32(0x0605_4B50) + le16(0) + le16(0) + count + count
            + le32(UInt32(central.count)) + le32(UInt32(out.count)) + le16(0)
    }
}

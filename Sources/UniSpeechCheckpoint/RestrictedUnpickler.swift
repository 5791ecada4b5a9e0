import Foundation
import UniSpeechCore

/// Why a pickle stream was refused.
public enum PickleError: LocalizedError, Equatable {
    case refusedGlobal(source: String, name: String)
    case unknownOpcode(source: String, opcode: UInt8, offset: Int)
    case malformed(source: String, offset: Int, reason: String)
    case limitExceeded(source: String, what: String, limit: Int)

    public var errorDescription: String? {
        switch self {
        case let .refusedGlobal(source, name):
            return "\(source): refusing pickle global '\(name)' (only state-dict globals are allowed)"
        case let .unknownOpcode(source, opcode, offset):
            return "\(source): unsupported pickle opcode 0x\(String(opcode, radix: 16, uppercase: false)) at byte \(offset) (only the opcodes a state dict uses are read)"
        case let .malformed(source, offset, reason): return "\(source): malformed pickle at byte \(offset): \(reason)"
        case let .limitExceeded(source, what, limit): return "\(source): pickle exceeds the limit of \(limit) \(what)"
        }
    }
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a view into a storage.
public struct TorchTensorRecord: Sendable, Equatable {
    /// The storage's key: its bytes are the archive entry `<root>/data/<key>`.
    public var storageKey: String
    public var dtype: DType
    /// Elements in the whole storage.
    public var storageElements: Int
    /// First element of the view, in elements from the storage start.
    public var offset: Int
    public var shape: [Int]
    public var strides: [Int]

    /// True when the view is row-major with no gaps (it can be mapped in place).
    public var isContiguous: Bool {
        var expected = 1
        for (dim, stride) in zip(shape, strides).reversed() where dim != 1 {
            if stride != expected { return false }
            expected *= dim
        }
        return true
    }
}

/// Values the restricted unpickler builds. Containers are boxes so that memoised references see later
/// SETITEMS / APPENDS, as in Python.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case tuple([PickleValue], depth: Int)
    case list(PickleBox<[PickleValue]>)
    case dict(PickleBox<[(key: PickleValue, value: PickleValue)]>)
    /// An accepted global, kept as data until REDUCE interprets it.
    case global(AllowedGlobal)
    /// A persistent id after BINPERSID: a storage reference.
    case storage(key: String, dtype: DType, elements: Int)
    case tensor(TorchTensorRecord)
}

final class PickleBox<Value> {
    var value: Value
    /// Container nesting below and including this one.
    var depth = 1
    init(_ value: Value) { self.value = value }
}

/// Every list and dict one unpickling made, emptied at the end: a hostile pickle can put a container
/// inside itself through the memo, and that reference cycle would otherwise never be freed.
final class PickleContainers {
    private var lists: [PickleBox<[PickleValue]>] = []
    private var dicts: [PickleBox<[(key: PickleValue, value: PickleValue)]>] = []

    func list() -> PickleValue {
        let box = PickleBox<[PickleValue]>([])
        lists.append(box)
        return .list(box)
    }

    func dict() -> PickleValue {
        let box = PickleBox<[(key: PickleValue, value: PickleValue)]>([])
        dicts.append(box)
        return .dict(box)
    }

    func release() {
        for box in lists { box.value = [] }
        for box in dicts { box.value = [] }
    }
}

extension PickleValue {
    /// Container nesting of this value (0 for scalars).
    var depth: Int {
        switch self {
        case let .tuple(_, depth): return depth
        case let .list(box): return box.depth
        case let .dict(box): return box.depth
        default: return 0
        }
    }
}

/// The only globals a state-dict pickle may name.
enum AllowedGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case rebuildParameterWithState
    case rebuildFromTypeV2
    case tensorType
    case size
    case storageType(DType)
    case dtype(DType)

    static let storageTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]
    static let dtypes: [String: DType] = [
        "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16, "float64": .f64,
        "double": .f64, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32, "int16": .i16, "short": .i16,
        "int8": .i8, "uint8": .u8, "bool": .bool,
    ]

    /// The accepted global `module.name`, or nil when it must be refused.
    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"), ("torch._utils", "_rebuild_from_type_v2"): self = .rebuildFromTypeV2
        case ("torch", "Tensor"), ("torch._tensor", "Tensor"), ("torch.nn.parameter", "Parameter"): self = .tensorType
        case ("torch", "Size"): self = .size
        case ("torch.storage", "UntypedStorage"), ("torch", "UntypedStorage"): self = .storageType(.u8)
        case ("torch", _):
            if let dtype = Self.storageTypes[name] {
                self = .storageType(dtype)
            } else if let dtype = Self.dtypes[name] {
                self = .dtype(dtype)
            } else {
                return nil
            }
        default: return nil
        }
    }
}

/// "Just enough pickle" for a torch state dict: the protocol-2 opcodes `torch.save` emits, globals
/// checked against `AllowedGlobal` by name before anything is built, and nothing ever executed.
struct RestrictedUnpickler {
    /// Limits that keep hostile input from exhausting memory.
    static let maxStackDepth = 1_000_000
    static let maxMarkDepth = 4_096
    static let maxMemoEntries = 1_000_000
    static let maxContainerItems = 10_000_000
    static let maxNesting = 64

    let bytes: [UInt8]
    let source: String
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private let containers = PickleContainers()

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// Reads the stream up to STOP and returns the state dict's name -> tensor entries in stored order.
    static func stateDict(from bytes: [UInt8], source: String) throws -> [(name: String, tensor: TorchTensorRecord)] {
        var unpickler = RestrictedUnpickler(bytes: bytes, source: source)
        defer { unpickler.containers.release() }
        let root = try unpickler.run()
        guard case let .dict(box) = root else {
            throw PickleError.malformed(source: source, offset: bytes.count, reason: "the top-level object is not a dict of tensors")
        }
        var seen = Set<String>()
        return try box.value.map { entry in
            guard case let .string(name) = entry.key else {
                throw PickleError.malformed(source: source, offset: bytes.count, reason: "a state-dict key is not a string")
            }
            guard case let .tensor(record) = entry.value else {
                throw PickleError.malformed(source: source, offset: bytes.count, reason: "state-dict entry '\(name)' is not a tensor")
            }
            guard seen.insert(name).inserted else {
                throw PickleError.malformed(source: source, offset: bytes.count, reason: "state-dict key '\(name)' appears twice")
            }
            return (name, record)
        }
    }

    // MARK: - Interpreter

    private mutating func run() throws -> PickleValue {
        while true {
            let start = position
            let opcode = try byte()
            switch opcode {
            case 0x80: _ = try byte()                                         // PROTO
            case 0x95: _ = try fixed(8)                                       // FRAME
            case 0x2E:                                                        // STOP
                guard stack.count == 1, marks.isEmpty else { throw malformed(start, "STOP with \(stack.count) values on the stack") }
                return stack[0]
            case 0x28:                                                        // MARK
                guard marks.count < Self.maxMarkDepth else { throw PickleError.limitExceeded(source: source, what: "nested marks", limit: Self.maxMarkDepth) }
                marks.append(stack.count)
            case 0x30: _ = try pop(start)                                     // POP
            case 0x31: _ = try popMark(start)                                 // POP_MARK
            case 0x4E: try push(.none)                                        // NONE
            case 0x88: try push(.bool(true))                                  // NEWTRUE
            case 0x89: try push(.bool(false))                                 // NEWFALSE
            case 0x4B: try push(.int(Int64(try byte())))                      // BININT1
            case 0x4D: try push(.int(Int64(try littleEndian(2))))             // BININT2
            case 0x4A: try push(.int(Int64(Int32(truncatingIfNeeded: try littleEndian(4))))) // BININT
            case 0x8A:                                                        // LONG1
                let count = Int(try byte())
                guard count <= 8 else { throw malformed(start, "LONG1 of \(count) bytes is larger than 64 bits") }
                let raw = try fixed(count)
                var value: UInt64 = 0
                for (index, b) in raw.enumerated() { value |= UInt64(b) << (8 * UInt64(index)) }
                if count < 8, let last = raw.last, last & 0x80 != 0 { value |= ~0 << (8 * UInt64(count)) }
                try push(.int(Int64(bitPattern: value)))
            case 0x47:                                                        // BINFLOAT (big-endian)
                let raw = try fixed(8)
                try push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x58: try push(.string(try text(length: Int(try littleEndian(4)), at: start)))  // BINUNICODE
            case 0x8C: try push(.string(try text(length: Int(try byte()), at: start)))           // SHORT_BINUNICODE
            case 0x8D:                                                                           // BINUNICODE8
                let length = try littleEndian(8)
                guard length <= UInt64(bytes.count) else { throw malformed(start, "string length \(length) past the end") }
                try push(.string(try text(length: Int(length), at: start)))
            case 0x29: try push(.tuple([], depth: 1))                         // EMPTY_TUPLE
            case 0x74: try push(try tuple(try popMark(start)))                // TUPLE
            case 0x85, 0x86, 0x87:                                            // TUPLE1..3
                let count = Int(opcode - 0x84)
                guard stack.count - (marks.last ?? 0) >= count else { throw malformed(start, "TUPLE\(count) on a short stack") }
                let items = Array(stack.suffix(count))
                stack.removeLast(count)
                try push(try tuple(items))
            case 0x5D: try push(containers.list())                         // EMPTY_LIST
            case 0x6C:                                                        // LIST
                let items = try popMark(start)
                try push(containers.list())
                try append(items, at: start)
            case 0x61:                                                        // APPEND
                let item = try pop(start)
                try append([item], at: start)
            case 0x65:                                                        // APPENDS
                let items = try popMark(start)
                try append(items, at: start)
            case 0x7D: try push(containers.dict())                         // EMPTY_DICT
            case 0x64:                                                        // DICT
                let items = try popMark(start)
                try push(containers.dict())
                try setItems(items, at: start)
            case 0x73:                                                        // SETITEM
                let value = try pop(start)
                let key = try pop(start)
                try setItems([key, value], at: start)
            case 0x75:                                                        // SETITEMS
                let items = try popMark(start)
                try setItems(items, at: start)
            case 0x71: try memoize(Int(try byte()), at: start)                // BINPUT
            case 0x72: try memoize(Int(try littleEndian(4)), at: start)       // LONG_BINPUT
            case 0x94: try memoize(memo.count, at: start)                     // MEMOIZE
            case 0x68: try push(try recall(Int(try byte()), at: start))       // BINGET
            case 0x6A: try push(try recall(Int(try littleEndian(4)), at: start)) // LONG_BINGET
            case 0x63:                                                        // GLOBAL
                let module = try line(at: start)
                let name = try line(at: start)
                try push(.global(try allowed(module: module, name: name)))
            case 0x69:                                                        // INST (refused by name; torch.save never emits it)
                let global = try allowed(module: try line(at: start), name: try line(at: start))
                throw malformed(start, "INST of \(global) is not part of a state dict")
            case 0x93:                                                        // STACK_GLOBAL
                let name = try pop(start)
                let module = try pop(start)
                guard case let .string(m) = module, case let .string(n) = name else {
                    throw malformed(start, "STACK_GLOBAL needs two strings")
                }
                try push(.global(try allowed(module: m, name: n)))
            case 0x51:                                                        // BINPERSID
                try push(try persistentLoad(try pop(start), at: start))
            case 0x52:                                                        // REDUCE
                let arguments = try pop(start)
                let callable = try pop(start)
                try push(try reduce(callable, arguments, at: start))
            case 0x62:                                                        // BUILD
                let state = try pop(start)
                let target = try pop(start)
                try push(try build(target, state: state, at: start))
            default:
                throw PickleError.unknownOpcode(source: source, opcode: opcode, offset: start)
            }
        }
    }

    private func allowed(module: String, name: String) throws -> AllowedGlobal {
        guard let global = AllowedGlobal(module: module, name: name) else {
            throw PickleError.refusedGlobal(source: source, name: "\(module).\(name)")
        }
        return global
    }

    /// `('storage', storage_type, key, location, numel)` as torch.save writes it.
    private func persistentLoad(_ id: PickleValue, at offset: Int) throws -> PickleValue {
        guard case let .tuple(fields, _) = id, fields.count == 5, case .string("storage") = fields[0],
              case let .global(.storageType(dtype)) = fields[1], case let .string(key) = fields[2],
              case let .int(elements) = fields[4], elements >= 0
        else { throw malformed(offset, "persistent id is not a ('storage', type, key, location, numel) tuple") }
        return .storage(key: key, dtype: dtype, elements: Int(elements))
    }

    private func reduce(_ callable: PickleValue, _ arguments: PickleValue, at offset: Int) throws -> PickleValue {
        guard case let .global(global) = callable else { throw malformed(offset, "REDUCE of a value that is not a callable global") }
        guard case let .tuple(args, _) = arguments else { throw malformed(offset, "REDUCE arguments are not a tuple") }
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw malformed(offset, "OrderedDict with arguments") }
            return containers.dict()
        case .size:
            guard args.count == 1, case .tuple = args[0] else { throw malformed(offset, "torch.Size needs one tuple") }
            return args[0]
        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(args, at: offset))
        case .rebuildParameter, .rebuildParameterWithState:
            guard let first = args.first, case .tensor = first else { throw malformed(offset, "_rebuild_parameter without a tensor") }
            return first
        case .rebuildFromTypeV2:
            guard args.count == 4, case let .global(function) = args[0], function != .rebuildFromTypeV2,
                  case .global(.tensorType) = args[1], case let .tuple(inner, depth) = args[2]
            else { throw malformed(offset, "_rebuild_from_type_v2 needs (function, tensor type, args, state)") }
            return try reduce(.global(function), .tuple(inner, depth: depth), at: offset)
        case .tensorType, .storageType, .dtype:
            throw malformed(offset, "REDUCE calls \(global), which is data, not a callable")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private func rebuildTensor(_ args: [PickleValue], at offset: Int) throws -> TorchTensorRecord {
        guard args.count >= 4, case let .storage(key, dtype, elements) = args[0], case let .int(storageOffset) = args[1],
              case let .tuple(sizeValues, _) = args[2], case let .tuple(strideValues, _) = args[3]
        else { throw malformed(offset, "_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)") }
        func integers(_ values: [PickleValue]) throws -> [Int] {
            try values.map {
                guard case let .int(v) = $0, v >= 0 else { throw malformed(offset, "tensor size or stride is not a non-negative integer") }
                return Int(v)
            }
        }
        let shape = try integers(sizeValues)
        let strides = try integers(strideValues)
        guard shape.count == strides.count else { throw malformed(offset, "tensor has \(shape.count) sizes but \(strides.count) strides") }
        guard storageOffset >= 0 else { throw malformed(offset, "negative storage offset") }
        return TorchTensorRecord(storageKey: key, dtype: dtype, storageElements: elements, offset: Int(storageOffset),
                                 shape: shape, strides: strides)
    }

    private func build(_ target: PickleValue, state: PickleValue, at offset: Int) throws -> PickleValue {
        switch target {
        case .dict, .tensor: return target   // OrderedDict `_metadata` and tensor state carry nothing the weights need
        default: throw malformed(offset, "BUILD on a value that is not a dict or tensor")
        }
    }

    private func append(_ items: [PickleValue], at offset: Int) throws {
        guard case let .list(box) = stack.last else { throw malformed(offset, "APPEND(S) to a value that is not a list") }
        guard box.value.count + items.count <= Self.maxContainerItems else {
            throw PickleError.limitExceeded(source: source, what: "container items", limit: Self.maxContainerItems)
        }
        box.depth = max(box.depth, try nesting(items, at: offset))
        box.value.append(contentsOf: items)
    }

    private func setItems(_ items: [PickleValue], at offset: Int) throws {
        guard case let .dict(box) = stack.last else { throw malformed(offset, "SETITEM(S) on a value that is not a dict") }
        guard items.count % 2 == 0 else { throw malformed(offset, "SETITEMS with an odd number of values") }
        guard box.value.count + items.count / 2 <= Self.maxContainerItems else {
            throw PickleError.limitExceeded(source: source, what: "container items", limit: Self.maxContainerItems)
        }
        box.depth = max(box.depth, try nesting(items, at: offset))
        for index in stride(from: 0, to: items.count, by: 2) {
            box.value.append((items[index], items[index + 1]))
        }
    }

    private func tuple(_ items: [PickleValue]) throws -> PickleValue {
        .tuple(items, depth: try nesting(items, at: position))
    }

    /// The depth of a container holding `items`, refused past `maxNesting` (deep values would
    /// overflow the stack when freed).
    private func nesting(_ items: [PickleValue], at offset: Int) throws -> Int {
        let depth = 1 + (items.map(\.depth).max() ?? 0)
        guard depth <= Self.maxNesting else {
            throw PickleError.limitExceeded(source: source, what: "levels of nesting", limit: Self.maxNesting)
        }
        return depth
    }

    // MARK: - Stack, memo and input

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maxStackDepth else {
            throw PickleError.limitExceeded(source: source, what: "stack entries", limit: Self.maxStackDepth)
        }
        stack.append(value)
    }

    private mutating func pop(_ offset: Int) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw malformed(offset, "pop from an empty stack") }
        return stack.removeLast()
    }

    private mutating func popMark(_ offset: Int) throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw malformed(offset, "no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func memoize(_ index: Int, at offset: Int) throws {
        guard let top = stack.last else { throw malformed(offset, "memoize with an empty stack") }
        guard memo.count < Self.maxMemoEntries || memo[index] != nil else {
            throw PickleError.limitExceeded(source: source, what: "memo entries", limit: Self.maxMemoEntries)
        }
        memo[index] = top
    }

    private func recall(_ index: Int, at offset: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw malformed(offset, "memo entry \(index) is not set") }
        return value
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw malformed(position, "unexpected end of the pickle (no STOP)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func fixed(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count <= bytes.count - position else { throw malformed(position, "unexpected end of the pickle") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    private mutating func littleEndian(_ count: Int) throws -> UInt64 {
        try fixed(count).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func text(length: Int, at offset: Int) throws -> String {
        let raw = try fixed(length)
        guard let string = String(validating: raw, as: UTF8.self) else { throw malformed(offset, "string is not valid UTF-8") }
        return string
    }

    private mutating func line(at offset: Int) throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw malformed(offset, "GLOBAL name without a newline") }
        let raw = bytes[position..<end]
        position = end + 1
        guard let string = String(validating: raw, as: UTF8.self) else { throw malformed(offset, "GLOBAL name is not valid UTF-8") }
        return string
    }

    private func malformed(_ offset: Int, _ reason: String) -> PickleError {
        .malformed(source: source, offset: offset, reason: reason)
    }
}

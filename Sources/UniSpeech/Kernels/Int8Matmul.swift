import CDNNL
import CKernels
import Foundation

/// A oneDNN call that failed (an unsupported CPU or a library fault, never a bad file).
public enum Int8MatmulError: LocalizedError, Equatable {
    case dnnl(operation: String, status: Int)

    public var errorDescription: String? {
        switch self {
        case let .dnnl(operation, status): return "oneDNN \(operation) failed with status \(status)"
        }
    }
}

private func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String) throws {
    guard status == dnnl_success else { throw Int8MatmulError.dnnl(operation: operation(), status: Int(status.rawValue)) }
}

/// One u8 x s8 -> s32 matmul primitive for a fixed (rows, outputs, inputs) and the memory objects it runs on.
private final class QuantizedMatmulPrimitive {
    let primitive: dnnl_primitive_t
    let source: dnnl_memory_t
    let weights: dnnl_memory_t
    let destination: dnnl_memory_t

    init(engine: dnnl_engine_t, rows: Int, outputs: Int, inputs: Int) throws {
        var sourceDesc = dnnl_memory_desc_t(), weightsDesc = dnnl_memory_desc_t(), destinationDesc = dnnl_memory_desc_t()
        var sourceDims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(inputs)]     // [M, K]
        var weightsDims: [dnnl_dim_t] = [dnnl_dim_t(inputs), dnnl_dim_t(outputs)] // [K, N] stored as W [N, K]
        var destinationDims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(outputs)] // [M, N]
        try check(dnnl_memory_desc_init_by_tag(&sourceDesc, 2, &sourceDims, dnnl_u8, dnnl_ab), "source descriptor")
        try check(dnnl_memory_desc_init_by_tag(&weightsDesc, 2, &weightsDims, dnnl_s8, dnnl_ba), "weights descriptor")
        try check(dnnl_memory_desc_init_by_tag(&destinationDesc, 2, &destinationDims, dnnl_s32, dnnl_ab), "destination descriptor")
        var desc = dnnl_matmul_desc_t()
        try check(dnnl_matmul_desc_init(&desc, &sourceDesc, &weightsDesc, nil, &destinationDesc), "matmul descriptor")
        var primitiveDesc: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&primitiveDesc, &desc, nil, engine, nil), "matmul \(rows)x\(inputs)x\(outputs)")
        defer { dnnl_primitive_desc_destroy(primitiveDesc) }
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, primitiveDesc), "matmul primitive")
        var source: dnnl_memory_t?, weights: dnnl_memory_t?, destination: dnnl_memory_t?
        try check(dnnl_memory_create(&source, &sourceDesc, engine, nil), "source memory")
        try check(dnnl_memory_create(&weights, &weightsDesc, engine, nil), "weights memory")
        try check(dnnl_memory_create(&destination, &destinationDesc, engine, nil), "destination memory")
        self.primitive = primitive!
        self.source = source!
        self.weights = weights!
        self.destination = destination!
    }

    deinit {
        dnnl_memory_destroy(source)
        dnnl_memory_destroy(weights)
        dnnl_memory_destroy(destination)
        dnnl_primitive_destroy(primitive)
    }
}

/// The oneDNN engine, stream, primitive cache and scratch buffers shared by every int8 matmul.
/// Calls are serialised by a lock; each runs on `threads` OpenMP threads.
final class Int8MatmulContext: @unchecked Sendable {
    static let shared = Int8MatmulContext()

    /// Largest u8 activation code: 255 where the CPU has VNNI (exact s32 accumulation), else 127 so
    /// that AVX2's pairwise u8 x s8 -> s16 products (vpmaddubsw) cannot saturate.
    let activationMax: Int32
    /// oneDNN's name for the instruction set it chose on this CPU.
    let instructionSet: String

    private let engine: dnnl_engine_t
    private let stream: dnnl_stream_t
    private let lock = NSLock()
    private var primitives: [[Int]: QuantizedMatmulPrimitive] = [:]
    private var threadCount = ProcessInfo.processInfo.activeProcessorCount
    private var quantized = Scratch<UInt8>()   // [M, K]
    private var products = Scratch<Int32>()    // [M, N]
    private var rowScales = Scratch<Float>()   // [M]
    private var rowZeros = Scratch<Int32>()    // [M]

    private init() {
        var engine: dnnl_engine_t?, stream: dnnl_stream_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success,
              dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success
        else { preconditionFailure("oneDNN cannot create a CPU engine") }
        self.engine = engine!
        self.stream = stream!
        let isa = dnnl_get_effective_cpu_isa()
        let hasVNNI = (isa.rawValue & dnnl_cpu_isa_avx512_core_vnni.rawValue) == dnnl_cpu_isa_avx512_core_vnni.rawValue
            || (isa.rawValue & dnnl_cpu_isa_avx2_vnni.rawValue) == dnnl_cpu_isa_avx2_vnni.rawValue
        activationMax = hasVNNI ? 255 : 127
        instructionSet = Self.name(of: isa)
    }

    private static func name(of isa: dnnl_cpu_isa_t) -> String {
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"),
        ]
        return names.first { (isa.rawValue & $0.0.rawValue) == $0.0.rawValue }?.1 ?? "none"
    }

    /// Threads each matmul uses (OpenMP threads of oneDNN).
    var threads: Int {
        get { lock.withLock { threadCount } }
        set { lock.withLock { threadCount = max(1, newValue) } }
    }

    /// y [M, N] = x [M, K] W^T with W s8 [N, K] (row stride K), see `Int8Matmul`.
    func run(_ x: UnsafePointer<Float>, rows: Int, rowStride: Int, matmul: Int8Matmul,
             bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, outputStride: Int) throws {
        let outputs = matmul.outputs, inputs = matmul.inputs
        guard rows > 0 else { return }
        try lock.withLock {
            let key = [rows, outputs, inputs]
            let primitive: QuantizedMatmulPrimitive
            if let cached = primitives[key] {
                primitive = cached
            } else {
                primitive = try QuantizedMatmulPrimitive(engine: engine, rows: rows, outputs: outputs, inputs: inputs)
                primitives[key] = primitive
            }
            let q = quantized.reserve(rows * inputs), acc = products.reserve(rows * outputs)
            let scales = rowScales.reserve(rows), zeros = rowZeros.reserve(rows)
            ck_quantize_rows_u8(x, rows, inputs, rowStride, activationMax, q, scales, zeros)  // [M, K] u8
            try check(dnnl_memory_set_data_handle(primitive.source, q), "set source")
            try check(dnnl_memory_set_data_handle(primitive.weights, UnsafeMutableRawPointer(mutating: matmul.weights)), "set weights")
            try check(dnnl_memory_set_data_handle(primitive.destination, acc), "set destination")
            omp_set_num_threads(Int32(threadCount))
            let arguments = [
                dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: primitive.source),
                dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: primitive.weights),
                dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: primitive.destination),
            ]
            try check(dnnl_primitive_execute(primitive.primitive, stream, Int32(arguments.count), arguments), "matmul")
            try check(dnnl_stream_wait(stream), "stream wait")
            matmul.withScales { columnScales, columnSums in                                  // [M, N] f32
                ck_dequantize_s32(acc, rows, outputs, scales, zeros, columnScales, columnSums, bias, y, outputStride)
            }
        }
    }
}

/// A growable 64-byte-aligned buffer, reallocated only when a larger size is asked for.
private struct Scratch<Element> {
    private var pointer: UnsafeMutablePointer<Element>?
    private var capacity = 0

    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity || pointer == nil {
            pointer?.deallocate()
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
            pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
            capacity = max(count, 1)
        }
        return pointer!
    }
}

/// Int8 weights of a linear layer y = x W^T + b: W s8 [N, K] with one f32 scale per output channel,
/// run as oneDNN u8 x s8 -> s32 with activations quantised per row on the fly.
public final class Int8Matmul: @unchecked Sendable {
    /// N, output features.
    public let outputs: Int
    /// K, input features.
    public let inputs: Int
    fileprivate let weights: UnsafePointer<Int8>
    private let weightStorage: TensorBytes
    private let columnScales: [Float]   // [N]
    private let columnSums: [Int32]     // [N], sum over K of W[n, :]

    /// Weights `weights` (s8 [outputs, inputs], used in place) with per-output-channel `scales`.
    public init(weights: TensorBytes, scales: [Float], outputs: Int, inputs: Int) {
        precondition(weights.count == outputs * inputs && scales.count == outputs, "int8 weight shape mismatch")
        self.outputs = outputs
        self.inputs = inputs
        self.weightStorage = weights
        self.columnScales = scales
        self.weights = weights.withUnsafeBytes { $0.baseAddress!.assumingMemoryBound(to: Int8.self) }
        let base = self.weights
        self.columnSums = [Int32](unsafeUninitializedCapacity: outputs) { sums, initialized in
            ck_row_sums_s8(base, outputs, inputs, sums.baseAddress!)  // |sum| <= 127 * inputs: no overflow
            initialized = outputs
        }
    }

    fileprivate func withScales<R>(_ body: (UnsafePointer<Float>, UnsafePointer<Int32>) -> R) -> R {
        columnScales.withUnsafeBufferPointer { scales in
            columnSums.withUnsafeBufferPointer { sums in body(scales.baseAddress!, sums.baseAddress!) }
        }
    }

    /// y [rows, N] (row stride `outputStride`) = x [rows, K] (row stride `rowStride`) W^T + bias.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, rowStride: Int? = nil, bias: UnsafePointer<Float>?,
                      into y: UnsafeMutablePointer<Float>, outputStride: Int? = nil) throws {
        try Int8MatmulContext.shared.run(x, rows: rows, rowStride: rowStride ?? inputs, matmul: self, bias: bias,
                                         into: y, outputStride: outputStride ?? outputs)
    }
}

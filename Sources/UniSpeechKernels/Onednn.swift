import CDNNL
import Synchronization

/// Throws `KernelError.onednn` naming `operation` unless `status` is success.
func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String) throws {
    guard status == dnnl_success else { throw KernelError.onednn(operation: operation(), status: Int(status.rawValue)) }
}

/// Element types of the matmul operands.
enum OnednnType: Hashable {
    case f32, u8, s8, s32

    var dnnl: dnnl_data_type_t {
        switch self {
        case .f32: return dnnl_f32
        case .u8: return dnnl_u8
        case .s8: return dnnl_s8
        case .s32: return dnnl_s32
        }
    }
}

/// Activations oneDNN applies as an eltwise post-op, by its algorithm and parameters.
struct OnednnActivation: Hashable {
    let algorithm: UInt32
    let alpha: Float

    /// oneDNN's form of `activation`, or nil when it has none that equals transformers' definition.
    init?(_ activation: Activation) {
        switch activation {
        case .gelu: (algorithm, alpha) = (dnnl_eltwise_gelu_erf.rawValue, 0)
        case .geluNew, .geluPytorchTanh: (algorithm, alpha) = (dnnl_eltwise_gelu_tanh.rawValue, 0)
        case .relu: (algorithm, alpha) = (dnnl_eltwise_relu.rawValue, 0)
        case .tanh: (algorithm, alpha) = (dnnl_eltwise_tanh.rawValue, 0)
        case .sigmoid: (algorithm, alpha) = (dnnl_eltwise_logistic.rawValue, 0)
        case .silu, .swish: (algorithm, alpha) = (dnnl_eltwise_swish.rawValue, 1)
        default: return nil
        }
    }
}

/// One operand of a (batched) matmul: element type and strides in elements (batch, row, column).
struct OperandLayout: Hashable {
    var type: OnednnType
    var batchStride: Int
    var rowStride: Int
    var columnStride: Int
}

/// Everything that makes a matmul primitive: C[batch, M, N] = activation(A[batch, M, K] B[batch, K, N] (+ bias[N]) (+ C)).
struct MatmulShape: Hashable {
    var batch: Int
    /// M; 0 with `runtimeRows`, where each call gives it.
    var m: Int
    var n: Int
    var k: Int
    var a: OperandLayout
    var b: OperandLayout
    var c: OperandLayout
    var bias: Bool
    /// Adds the product to C's values instead of replacing them (a sum post-op).
    var accumulate: Bool
    /// An activation applied to the result last (an eltwise post-op), when oneDNN has it.
    var activation: OnednnActivation? = nil
    /// Threads the primitive is made for and runs on.
    var threads: Int
    /// M is given at each call: one primitive serves every input length (oneDNN then runs its gemm kernels, not
    /// its brgemm ones; `KernelContext.runtimeRowsBelow` says when).
    var runtimeRows: Bool = false
    /// u8 x s8 scaled back to f32 inside oneDNN: C = activation(rowScale[M] · colScale[N] · Σ(A - zero) B (+ bias[N])
    /// (+ C)), the zero point given at each call and the scales and bias as binary post-ops, so that one primitive
    /// serves every layer of a shape. The operands are then 3-D {1, M, K}: oneDNN 2.6 runs a 2-D product with a
    /// per-row operand on its reference kernel (benchmarks/PROBES.md section 6).
    var dequantizes: Bool = false

    /// oneDNN's placeholder for a dimension given at execution.
    static let runtimeDimension = Int(unispeech_dnnl_runtime_dim())

    /// dims [batch, rows, columns] (2-D when batch is 1) of an operand; rows = `runtimeDimension` for run-time M.
    func descriptor(_ layout: OperandLayout, rows: Int, columns: Int) throws -> dnnl_memory_desc_t {
        var desc = dnnl_memory_desc_t()
        if batch == 1 && !dequantizes {
            var dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(columns)]
            var strides: [dnnl_dim_t] = [dnnl_dim_t(layout.rowStride), dnnl_dim_t(layout.columnStride)]
            try check(dnnl_memory_desc_init_by_strides(&desc, 2, &dims, layout.type.dnnl, &strides), "memory descriptor")
        } else {
            var dims: [dnnl_dim_t] = [dnnl_dim_t(batch), dnnl_dim_t(rows), dnnl_dim_t(columns)]
            var strides: [dnnl_dim_t] = [dnnl_dim_t(layout.batchStride), dnnl_dim_t(layout.rowStride), dnnl_dim_t(layout.columnStride)]
            try check(dnnl_memory_desc_init_by_strides(&desc, 3, &dims, layout.type.dnnl, &strides), "memory descriptor")
        }
        return desc
    }

    /// bias [1, N] (with a leading one for 3-D products).
    fileprivate func biasDescriptor() throws -> dnnl_memory_desc_t { try vectorDescriptor(rows: 1, columns: n) }

    /// Dense f32 [rows, columns], {1, rows, columns} for 3-D products: a bias, or a dequantising post-op's scales.
    fileprivate func vectorDescriptor(rows: Int, columns: Int) throws -> dnnl_memory_desc_t {
        var desc = dnnl_memory_desc_t()
        let flat = batch == 1 && !dequantizes
        var dims: [dnnl_dim_t] = flat ? [dnnl_dim_t(rows), dnnl_dim_t(columns)] : [1, dnnl_dim_t(rows), dnnl_dim_t(columns)]
        try check(dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), &dims, dnnl_f32, flat ? dnnl_ab : dnnl_abc),
                  "vector descriptor")
        return desc
    }
}

/// A primitive the engine caches; shared between threads, which only execute it.
protocol OnednnPrimitive: AnyObject, Sendable {}

/// A created primitive with what running it takes: the scratchpad it needs and the implementation oneDNN chose.
struct CreatedPrimitive {
    let primitive: dnnl_primitive_t
    let scratchpad: dnnl_memory_desc_t
    let scratchpadBytes: Int
    /// oneDNN's name for the implementation it chose (e.g. "brg:avx512_core_vnni").
    let implementation: String

    /// The primitive of `primitiveDesc` (which stays the caller's to destroy).
    init(_ primitiveDesc: dnnl_primitive_desc_t, what: String) throws {
        var name: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(primitiveDesc, dnnl_query_impl_info_str, 0, &name)
        implementation = name.map { String(cString: $0) } ?? "unknown"
        scratchpad = dnnl_primitive_desc_query_md(primitiveDesc, dnnl_query_scratchpad_md, 0).pointee
        var scratchpadDesc = scratchpad
        scratchpadBytes = dnnl_memory_desc_get_size(&scratchpadDesc)
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, primitiveDesc), what + " primitive")
        self.primitive = primitive!
    }

    /// Attributes for our primitives: the scratchpad comes from the caller's workspace (so concurrent calls never
    /// share one), the source's one zero point is given at each call when `sourceZeroPoint`, and `postOps`, when
    /// given, fills in the post-ops.
    static func attributes(sourceZeroPoint: Bool = false,
                           postOps: ((dnnl_post_ops_t) throws -> Void)? = nil) throws -> dnnl_primitive_attr_t {
        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "attributes")
        do {
            try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad mode")
            if sourceZeroPoint {
                var runtime = unispeech_dnnl_runtime_s32()
                try check(dnnl_primitive_attr_set_zero_points(attributes, DNNL_ARG_SRC, 1, 0, &runtime), "zero points")
            }
            if let postOps {
                var ops: dnnl_post_ops_t?
                try check(dnnl_post_ops_create(&ops), "post-ops")
                defer { dnnl_post_ops_destroy(ops) }
                try postOps(ops!)
                try check(dnnl_primitive_attr_set_post_ops(attributes, ops), "set post-ops")
            }
        } catch {
            dnnl_primitive_attr_destroy(attributes)
            throw error
        }
        return attributes!
    }
}

/// A matmul primitive with the descriptors of its operands.
final class MatmulPrimitive: OnednnPrimitive, @unchecked Sendable {
    let shape: MatmulShape
    let created: CreatedPrimitive
    let a: dnnl_memory_desc_t
    let b: dnnl_memory_desc_t
    let c: dnnl_memory_desc_t
    /// The bias argument (f32 products only: int8 ones add theirs after the scales, as a post-op).
    let bias: dnnl_memory_desc_t?
    /// With `dequantizes`: the source's zero point {1} and the per-column ({1, 1, N}) and per-row ({1, M, 1})
    /// operands of the post-ops.
    let dequantization: (zeroPoint: dnnl_memory_desc_t, columns: dnnl_memory_desc_t, rows: dnnl_memory_desc_t)?

    var implementation: String { created.implementation }

    init(shape: MatmulShape, engine: dnnl_engine_t) throws {
        self.shape = shape
        let rows = shape.runtimeRows ? MatmulShape.runtimeDimension : shape.m
        a = try shape.descriptor(shape.a, rows: rows, columns: shape.k)
        b = try shape.descriptor(shape.b, rows: shape.k, columns: shape.n)
        c = try shape.descriptor(shape.c, rows: rows, columns: shape.n)
        bias = shape.bias && !shape.dequantizes ? try shape.biasDescriptor() : nil
        if shape.dequantizes {
            var zeroPoint = dnnl_memory_desc_t()
            var one: [dnnl_dim_t] = [1]
            try check(dnnl_memory_desc_init_by_tag(&zeroPoint, 1, &one, dnnl_s32, dnnl_a), "zero point descriptor")
            dequantization = (zeroPoint, try shape.vectorDescriptor(rows: 1, columns: shape.n),
                              try shape.vectorDescriptor(rows: rows, columns: 1))
        } else {
            dequantization = nil
        }
        let attributes = try CreatedPrimitive.attributes(sourceZeroPoint: shape.dequantizes) { [dequantization] postOps in
            if var columns = dequantization?.columns, var rows = dequantization?.rows {
                try check(dnnl_post_ops_append_binary(postOps, dnnl_binary_mul, &columns), "column scale post-op")
                try check(dnnl_post_ops_append_binary(postOps, dnnl_binary_mul, &rows), "row scale post-op")
                if shape.bias { try check(dnnl_post_ops_append_binary(postOps, dnnl_binary_add, &columns), "bias post-op") }
            }
            if shape.accumulate { try check(dnnl_post_ops_append_sum(postOps, 1), "sum post-op") }
            if let activation = shape.activation {
                try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_alg_kind_t(activation.algorithm), activation.alpha, 0),
                          "activation post-op")
            }
        }
        defer { dnnl_primitive_attr_destroy(attributes) }
        var desc = dnnl_matmul_desc_t()
        var (a, b, c) = (self.a, self.b, self.c)
        if var bias {
            try check(dnnl_matmul_desc_init(&desc, &a, &b, &bias, &c), "matmul descriptor")
        } else {
            try check(dnnl_matmul_desc_init(&desc, &a, &b, nil, &c), "matmul descriptor")
        }
        var primitiveDesc: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&primitiveDesc, &desc, attributes, engine, nil),
                  "matmul \(shape.batch)x\(shape.m)x\(shape.k)x\(shape.n)")
        defer { dnnl_primitive_desc_destroy(primitiveDesc) }
        created = try CreatedPrimitive(primitiveDesc!, what: "matmul")
    }

    deinit { dnnl_primitive_destroy(created.primitive) }
}

/// oneDNN's CPU engine and the primitives made on it, the least recently used evicted past `capacity`.
final class OnednnEngine: @unchecked Sendable {
    let engine: dnnl_engine_t
    private let capacity: Int
    private let cache = Mutex<PrimitiveCache>(PrimitiveCache())

    /// What a cached primitive was made for.
    private enum Key: Hashable {
        case matmul(MatmulShape)
        case convolution(ConvolutionShape)
    }

    private struct PrimitiveCache {
        var entries: [Key: (primitive: any OnednnPrimitive, lastUse: Int)] = [:]
        var clock = 0
    }

    init(cacheCapacity: Int) throws {
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "CPU engine")
        self.engine = engine!
        capacity = max(1, cacheCapacity)
    }

    deinit { dnnl_engine_destroy(engine) }

    /// Primitives currently cached.
    var cachedPrimitives: Int { cache.withLock { $0.entries.count } }

    /// The matmul primitive for `shape`, made on first use.
    func matmul(_ shape: MatmulShape) throws -> MatmulPrimitive {
        try cached(.matmul(shape), threads: shape.threads) { try MatmulPrimitive(shape: shape, engine: engine) }
    }

    /// The convolution primitive for `shape`, made on first use.
    func convolution(_ shape: ConvolutionShape) throws -> ConvolutionPrimitive {
        try cached(.convolution(shape), threads: shape.threads) { try ConvolutionPrimitive(shape: shape, engine: engine) }
    }

    /// The cached primitive for `key`, else one made by `make` (outside the lock, with `threads` set, as oneDNN
    /// sizes its work split when it makes a primitive).
    private func cached<Primitive: OnednnPrimitive>(_ key: Key, threads: Int, make: () throws -> Primitive) throws -> Primitive {
        if let found = cache.withLock({ cache -> Primitive? in
            guard let entry = cache.entries[key] else { return nil }
            cache.clock += 1
            cache.entries[key] = (entry.primitive, cache.clock)
            return entry.primitive as? Primitive
        }) {
            return found
        }
        omp_set_num_threads(Int32(threads))
        let made = try make()
        return cache.withLock { cache in
            cache.clock += 1
            if cache.entries[key] == nil, cache.entries.count >= capacity,
               let oldest = cache.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                cache.entries[oldest] = nil
            }
            let kept = (cache.entries[key]?.primitive as? Primitive) ?? made
            cache.entries[key] = (kept, cache.clock)
            return kept
        }
    }
}

/// A oneDNN stream for the calls of one thread.
final class OnednnStream {
    let stream: dnnl_stream_t

    init(_ engine: OnednnEngine) throws {
        var stream: dnnl_stream_t?
        try check(dnnl_stream_create(&stream, engine.engine, dnnl_stream_default_flags.rawValue), "stream")
        self.stream = stream!
    }

    deinit { dnnl_stream_destroy(stream) }
}

/// The memory objects and arguments of one primitive execution, released afterwards.
struct OnednnCall: ~Copyable {
    private let engine: dnnl_engine_t
    private var memories: [dnnl_memory_t] = []
    private var arguments: [dnnl_exec_arg_t] = []

    init(engine: dnnl_engine_t) { self.engine = engine }

    deinit { for memory in memories { dnnl_memory_destroy(memory) } }

    /// Passes `handle`, laid out as `desc`, as `argument`.
    mutating func add(_ argument: Int32, _ desc: dnnl_memory_desc_t, _ handle: UnsafeRawPointer) throws {
        var desc = desc
        var memory: dnnl_memory_t?
        try check(dnnl_memory_create(&memory, &desc, engine, UnsafeMutableRawPointer(mutating: handle)), "memory")
        memories.append(memory!)
        arguments.append(dnnl_exec_arg_t(arg: argument, memory: memory))
    }

    /// Runs `primitive` with these arguments and its scratchpad from `context`'s workspace, on `threads` threads,
    /// and waits for it.
    mutating func run(_ primitive: CreatedPrimitive, threads: Int, context: KernelContext, what: String) throws {
        if primitive.scratchpadBytes > 0 {
            try add(DNNL_ARG_SCRATCHPAD, primitive.scratchpad,
                    context.workspace.bytes(KernelContext.scratchpadSlot, count: primitive.scratchpadBytes))
        }
        omp_set_num_threads(Int32(threads))
        try check(dnnl_primitive_execute(primitive.primitive, context.stream.stream, Int32(arguments.count), arguments), what)
        try check(dnnl_stream_wait(context.stream.stream), "stream wait")
    }
}

/// Run-time operands of one matmul execution.
struct MatmulOperands {
    /// M, for a primitive made with run-time rows.
    var m: Int = 0
    var a: UnsafeRawPointer
    var b: UnsafeRawPointer
    var c: UnsafeMutableRawPointer
    /// [N] f32, when the shape has a bias.
    var bias: UnsafePointer<Float>? = nil
    /// With `dequantizes`: A's zero point, [N] column scales and [M] row scales.
    var dequantization: Dequantization? = nil
}

/// What scales a u8 x s8 product back to f32 inside oneDNN (`MatmulShape.dequantizes`).
struct Dequantization {
    var zeroPoint: UnsafePointer<Int32>
    var columnScales: UnsafePointer<Float>
    var rowScales: UnsafePointer<Float>
}

extension KernelContext {
    static let scratchpadSlot = WorkspaceSlot("kernels.onednn-scratchpad")

    /// Runs `primitive` on `operands` on this context's stream with the primitive's thread count.
    func execute(_ primitive: MatmulPrimitive, _ operands: MatmulOperands) throws {
        let shape = primitive.shape
        var call = OnednnCall(engine: engine.onednn.engine)
        let (a, c) = shape.runtimeRows
            ? (try shape.descriptor(shape.a, rows: operands.m, columns: shape.k), try shape.descriptor(shape.c, rows: operands.m, columns: shape.n))
            : (primitive.a, primitive.c)
        try call.add(DNNL_ARG_SRC, a, operands.a)
        try call.add(DNNL_ARG_WEIGHTS, primitive.b, operands.b)
        try call.add(DNNL_ARG_DST, c, UnsafeRawPointer(operands.c))
        if let desc = primitive.bias, let bias = operands.bias { try call.add(DNNL_ARG_BIAS, desc, bias) }
        if let descs = primitive.dequantization {
            guard let dequantization = operands.dequantization, operands.bias != nil || !shape.bias else {
                preconditionFailure("a dequantising matmul needs its scales, zero point and bias")
            }
            try call.add(unispeech_dnnl_arg_source_zero_points(), descs.zeroPoint, dequantization.zeroPoint)
            try call.add(unispeech_dnnl_arg_post_op_operand(0), descs.columns, dequantization.columnScales)
            try call.add(unispeech_dnnl_arg_post_op_operand(1), descs.rows, dequantization.rowScales)
            if let bias = operands.bias { try call.add(unispeech_dnnl_arg_post_op_operand(2), descs.columns, bias) }
        }
        try call.run(primitive.created, threads: shape.threads, context: self, what: "matmul")
    }
}

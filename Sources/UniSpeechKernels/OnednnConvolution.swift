import CDNNL
import Synchronization

/// Everything that makes a 1-D convolution primitive on time-major data: x [length, inChannels] in, y [outLength,
/// outChannels] out (oneDNN's nwc with a batch of one), grouped weights, symmetric zero padding.
struct ConvolutionShape: Hashable {
    var length: Int
    var inChannels: Int
    var outChannels: Int
    var groups: Int
    var kernel: Int
    var stride: Int
    var padding: Int
    var bias: Bool
    var threads: Int

    var outLength: Int { ConvGeometry(kernel: kernel, stride: stride, padding: padding).outputLength(length) }
}

/// A oneDNN convolution primitive, the layouts of its operands and the scratchpad it needs.
final class ConvolutionPrimitive: OnednnPrimitive, @unchecked Sendable {
    let shape: ConvolutionShape
    let created: CreatedPrimitive
    let source: dnnl_memory_desc_t
    /// The weights layout the primitive chose (weights are reordered into it once, `ConvWeights.onednnWeights`).
    let weights: dnnl_memory_desc_t
    let bias: dnnl_memory_desc_t?
    let destination: dnnl_memory_desc_t

    /// oneDNN's name for the implementation it chose (e.g. "brgconv:avx512_core").
    var implementation: String { created.implementation }

    /// True when oneDNN runs this convolution with its brgemm kernels (AVX-512): measured faster than im2col with
    /// a matmul there, while its AVX2 convolutions are several times slower than im2col (benchmarks/PROBES.md).
    var isBrgemm: Bool { implementation.hasPrefix("brg") }

    init(shape: ConvolutionShape, engine: dnnl_engine_t) throws {
        self.shape = shape
        func desc(_ dims: [Int], _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
            var desc = dnnl_memory_desc_t()
            var dims = dims.map { dnnl_dim_t($0) }
            try check(dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), &dims, dnnl_f32, tag), "convolution descriptor")
            return desc
        }
        var source = try desc([1, shape.inChannels, shape.length], dnnl_nwc)
        var destination = try desc([1, shape.outChannels, shape.outLength], dnnl_nwc)
        var weights = try shape.groups > 1
            ? desc([shape.groups, shape.outChannels / shape.groups, shape.inChannels / shape.groups, shape.kernel], dnnl_format_tag_any)
            : desc([shape.outChannels, shape.inChannels, shape.kernel], dnnl_format_tag_any)
        let bias = shape.bias ? try desc([shape.outChannels], dnnl_a) : nil
        let attributes = try CreatedPrimitive.attributes()
        defer { dnnl_primitive_attr_destroy(attributes) }
        var convolution = dnnl_convolution_desc_t()
        var strides: [dnnl_dim_t] = [dnnl_dim_t(shape.stride)], padding: [dnnl_dim_t] = [dnnl_dim_t(shape.padding)]
        if var biasDesc = bias {
            try check(dnnl_convolution_forward_desc_init(&convolution, dnnl_forward_inference, dnnl_convolution_direct, &source,
                                                         &weights, &biasDesc, &destination, &strides, &padding, &padding),
                      "convolution descriptor")
        } else {
            try check(dnnl_convolution_forward_desc_init(&convolution, dnnl_forward_inference, dnnl_convolution_direct, &source,
                                                         &weights, nil, &destination, &strides, &padding, &padding),
                      "convolution descriptor")
        }
        var primitiveDesc: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&primitiveDesc, &convolution, attributes, engine, nil),
                  "convolution \(shape.length)x\(shape.inChannels) -> \(shape.outChannels), kernel \(shape.kernel), \(shape.groups) groups")
        defer { dnnl_primitive_desc_destroy(primitiveDesc) }
        self.weights = dnnl_primitive_desc_query_md(primitiveDesc, dnnl_query_weights_md, 0).pointee
        self.source = source
        self.destination = destination
        self.bias = bias
        created = try CreatedPrimitive(primitiveDesc!, what: "convolution")
    }

    deinit { dnnl_primitive_destroy(created.primitive) }
}

/// One set of conv weights reordered into the layouts oneDNN's convolutions asked for, made on first use.
final class ReorderedConvWeights: @unchecked Sendable {
    /// One reordered copy, owned by this object.
    private struct Buffer: @unchecked Sendable {
        let bytes: UnsafeMutableRawBufferPointer
    }

    /// Keyed by the layout's bytes (an array, not `Data`: a model kept until exit must stay visible to LeakSanitizer,
    /// which does not see through `Data`'s tagged storage reference and reported its keys as leaks).
    private let layouts = Mutex<[[UInt8]: Buffer]>([:])

    deinit { layouts.withLock { for buffer in $0.values { buffer.bytes.deallocate() } } }

    /// The weights in `layout`, reordered from `source` (described by `sourceDesc`, its last dimension the taps) with
    /// each tap multiplied by its scale, the first time it is asked for.
    func weights(in layout: dnnl_memory_desc_t, from source: UnsafeRawPointer, sourceDesc: dnnl_memory_desc_t, tapScales: [Float],
                 engine: dnnl_engine_t, stream: dnnl_stream_t) throws -> UnsafeRawPointer {
        var layout = layout
        let key = withUnsafeBytes(of: &layout) { [UInt8]($0) }
        let buffer = try layouts.withLock { layouts -> Buffer in
            if let found = layouts[key] { return found }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(dnnl_memory_desc_get_size(&layout), 1), alignment: 64)
            do {
                try Self.reorder(source, sourceDesc, into: buffer.baseAddress!, layout, tapScales: tapScales, engine: engine, stream: stream)
            } catch {
                buffer.deallocate()
                throw error
            }
            layouts[key] = Buffer(bytes: buffer)
            return Buffer(bytes: buffer)
        }
        return UnsafeRawPointer(buffer.bytes.baseAddress!)
    }

    private static func reorder(_ source: UnsafeRawPointer, _ sourceDesc: dnnl_memory_desc_t, into target: UnsafeMutableRawPointer,
                                _ targetDesc: dnnl_memory_desc_t, tapScales: [Float], engine: dnnl_engine_t,
                                stream: dnnl_stream_t) throws {
        var (from, to) = (sourceDesc, targetDesc)
        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        // Output scales along the last (tap) dimension.
        try check(dnnl_primitive_attr_set_output_scales(attributes, dnnl_dim_t(tapScales.count), 1 << (from.ndims - 1), tapScales),
                  "tap scales")
        var primitiveDesc: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&primitiveDesc, &from, engine, &to, engine, attributes), "weights reorder")
        defer { dnnl_primitive_desc_destroy(primitiveDesc) }
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, primitiveDesc), "weights reorder primitive")
        defer { dnnl_primitive_destroy(primitive) }
        var sourceMemory: dnnl_memory_t?, targetMemory: dnnl_memory_t?
        try check(dnnl_memory_create(&sourceMemory, &from, engine, UnsafeMutableRawPointer(mutating: source)), "memory")
        defer { dnnl_memory_destroy(sourceMemory) }
        try check(dnnl_memory_create(&targetMemory, &to, engine, target), "memory")
        defer { dnnl_memory_destroy(targetMemory) }
        let arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: sourceMemory), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: targetMemory)]
        try check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), "weights reorder")
        try check(dnnl_stream_wait(stream), "stream wait")
    }
}

extension KernelContext {
    /// The convolution of `conv` on x as one oneDNN primitive, when oneDNN has a brgemm convolution for it here;
    /// false (nothing done) otherwise.
    func onednnConvolution(_ x: Matrix, _ conv: ConvWeights, _ weights: GeneralConvWeights, bias: UnsafePointer<Float>?,
                           into y: MutableMatrix) throws -> Bool {
        guard engine.backend.usesOnednn, conv.geometry.dilation == 1, x.isContiguous, y.isContiguous else { return false }
        let shape = ConvolutionShape(length: x.rows, inChannels: conv.inChannels, outChannels: conv.outChannels, groups: conv.groups,
                                     kernel: conv.geometry.kernel, stride: conv.geometry.stride, padding: conv.geometry.padding,
                                     bias: bias != nil,
                                     threads: x.rows * conv.outChannels * conv.geometry.kernel * conv.inChannels / conv.groups
                                         < Self.parallelMultiplyAdds ? 1 : threads)
        let primitive = try measure("convolution primitive creation") { try engine.onednn.convolution(shape) }
        guard primitive.isBrgemm else { return false }
        // Our weights in torch's layout: [groups, out / groups, in / groups, kernel] (goiw), or [out, in, kernel] (oiw).
        let groupIn = conv.inChannels / conv.groups, groupOut = conv.outChannels / conv.groups, kernel = conv.geometry.kernel
        var sourceDesc = dnnl_memory_desc_t()
        var dims: [dnnl_dim_t] = (conv.groups > 1 ? [conv.groups, groupOut, groupIn, kernel] : [conv.outChannels, conv.inChannels, kernel])
            .map { dnnl_dim_t($0) }
        try check(dnnl_memory_desc_init_by_tag(&sourceDesc, Int32(dims.count), &dims, dnnl_f32, conv.groups > 1 ? dnnl_abcd : dnnl_abc),
                  "weights descriptor")
        let reordered = try weights.torchLayout.withUnsafeBufferPointer { torchLayout in
            try weights.onednn.weights(in: primitive.weights, from: UnsafeRawPointer(torchLayout.baseAddress!), sourceDesc: sourceDesc,
                                       tapScales: weights.tapScales, engine: engine.onednn.engine, stream: stream.stream)
        }
        try measure("convolution \(x.rows)x\(conv.inChannels)x\(conv.outChannels) k\(kernel) g\(conv.groups) (\(primitive.implementation))",
                    flops: 2 * Double(y.rows * conv.outChannels * kernel * groupIn)) {
            try execute(primitive, source: UnsafeRawPointer(x.base), weights: reordered, bias: bias, destination: y.base)
        }
        return true
    }

    /// Runs a convolution primitive on this context's stream with its thread count.
    private func execute(_ primitive: ConvolutionPrimitive, source: UnsafeRawPointer, weights: UnsafeRawPointer,
                         bias: UnsafePointer<Float>?, destination: UnsafeMutablePointer<Float>) throws {
        var call = OnednnCall(engine: engine.onednn.engine)
        try call.add(DNNL_ARG_SRC, primitive.source, source)
        try call.add(DNNL_ARG_WEIGHTS, primitive.weights, weights)
        try call.add(DNNL_ARG_DST, primitive.destination, UnsafeRawPointer(destination))
        if let desc = primitive.bias, let bias { try call.add(DNNL_ARG_BIAS, desc, bias) }
        try call.run(primitive.created, threads: primitive.shape.threads, context: self, what: "convolution")
    }
}

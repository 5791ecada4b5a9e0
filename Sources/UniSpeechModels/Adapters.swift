import UniSpeechKernels

/// A 1-D convolution over time run as its input windows (`KernelContext.unfold`) times a linear layer in window
/// order, so its weight may be stored f32, f16 or int8 like any linear layer: the conv adapter's layers and the
/// x-vector head's TDNN layers.
struct WindowedConv {
    /// Weight [out, kernel * in] in window order.
    let linear: LinearWeights
    let geometry: ConvGeometry

    static let windows = WorkspaceSlot("windowed-conv.windows")

    /// Output frames for `frames` input frames.
    func outputLength(_ frames: Int) -> Int { geometry.outputLength(frames) }

    /// out[B * T', out] of x[B * T, in], each batch item convolved on its own (T' = `outputLength(T)`).
    func callAsFunction(_ x: Matrix, batch: Int, into out: MutableMatrix, context: KernelContext) throws {
        let frames = x.rows / batch, outFrames = outputLength(frames)
        let windows = context.buffer(Self.windows, rows: batch * outFrames, columns: linear.inFeatures)  // [B * T', k * in]
        for b in 0..<batch {
            context.unfold(x.rows((b * frames)..<((b + 1) * frames)), geometry,
                           into: windows.rows((b * outFrames)..<((b + 1) * outFrames)))
        }
        try context.linear(windows.readOnly, linear, into: out)  // [B * T', out]
    }
}

/// Wav2Vec2Adapter (`add_adapter`; Wav2Vec2, WavLM, Data2VecAudio), on the encoder's output: Linear + LayerNorm to
/// `output_hidden_size` when it differs from hidden_size, then `num_adapter_layers` convs (kernel
/// `adapter_kernel_size`, stride `adapter_stride`, padding 1) to twice the width, each followed by a GLU. Padded
/// frames go through the convs like the others, as in transformers.
struct ConvAdapter {
    let projection: (linear: LinearWeights, norm: NormWeights)?
    let layers: [WindowedConv]
    /// output_hidden_size.
    let width: Int

    static let slots = (projected: WorkspaceSlot("conv-adapter.projected"), doubled: WorkspaceSlot("conv-adapter.doubled"),
                        buffers: [WorkspaceSlot("conv-adapter.a"), WorkspaceSlot("conv-adapter.b")])
    /// transformers' module paths: the adapter, its projection's norm, each conv layer.
    static let path = "adapter"
    static let projectionNormPath = path + ".proj_layer_norm"
    static func layerPath(_ index: Int) -> String { path + ".layers.\(index)" }

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        let hidden = config.hiddenSize, width = config.adapterOutputSize
        self.width = width
        projection = width == hidden ? nil : (
            try weights.linear(Self.path + ".proj", out: width, in: hidden),
            try weights.norm(Self.projectionNormPath, size: width, epsilon: UniSpeechConfig.torchNormEpsilon))
        let geometry = ConvGeometry(kernel: config.adapterKernelSize, stride: config.adapterStride, padding: 1)
        var layers: [WindowedConv] = []
        for index in 0..<config.numAdapterLayers {
            layers.append(WindowedConv(linear: try weights.convWindows(Self.layerPath(index) + ".conv", inChannels: width,
                                                                       outChannels: 2 * width, kernel: geometry.kernel),
                                       geometry: geometry))
        }
        self.layers = layers
    }

    /// Frames out for `frames` frames in (each layer's conv formula).
    func outputLength(_ frames: Int) -> Int { layers.reduce(frames) { $1.outputLength($0) } }

    /// The adapted states [B * T', O] of the encoder output x[B * T, H], and T'; each stage reported to `tap`.
    func callAsFunction(_ x: Matrix, batch: Int, context: KernelContext, tap: StageTap? = nil) throws -> (states: [Float], frames: Int) {
        var h = x  // [B * T, O]
        if let projection {
            let projected = context.buffer(Self.slots.projected, rows: x.rows, columns: width)
            try context.linear(x, projection.linear, into: projected)  // [B * T, O]
            context.layerNorm(projected, projection.norm)
            try tap?(Self.projectionNormPath, projected)
            h = projected.readOnly
        }
        var frames = x.rows / batch, realFrames = tap?.frameLengths ?? []
        for (index, layer) in layers.enumerated() {
            let outFrames = layer.outputLength(frames)
            guard outFrames > 0 else { throw ModelError.noFramesLeft(stage: "conv adapter's layers", frames: x.rows / batch) }
            let doubled = context.buffer(Self.slots.doubled, rows: batch * outFrames, columns: 2 * width)  // [B * T', 2O]
            try layer(h, batch: batch, into: doubled, context: context)
            let gated = context.buffer(Self.slots.buffers[index % 2], rows: batch * outFrames, columns: width)  // [B * T', O]
            context.glu(doubled.readOnly, into: gated)
            if let tap {
                realFrames = realFrames.map(layer.outputLength)
                try tap(Self.layerPath(index), gated, realRows: realFrames)
            }
            h = gated.readOnly
            frames = outFrames
        }
        return (h.array(), frames)
    }
}

/// Wav2Vec2AttnAdapterLayer (MMS, `adapter_attn_dim`): at the end of a pre-LN layer,
/// h += linear_2(relu(linear_1(LayerNorm(h)))), its norm with torch's default epsilon.
struct AttentionAdapter {
    let norm: NormWeights
    let down: LinearWeights
    let up: LinearWeights

    static let slots = (normed: WorkspaceSlot("attention-adapter.normed"), inner: WorkspaceSlot("attention-adapter.inner"),
                        output: WorkspaceSlot("attention-adapter.output"))

    init(config: UniSpeechConfig, prefix: String, dimension: Int, weights: WeightLoader) throws {
        let hidden = config.hiddenSize
        norm = try weights.norm(prefix + ".norm", size: hidden, epsilon: UniSpeechConfig.torchNormEpsilon)
        down = try weights.linear(prefix + ".linear_1", out: dimension, in: hidden)
        up = try weights.linear(prefix + ".linear_2", out: hidden, in: dimension)
    }

    /// Adds the adapter's output to h[rows, H] in place.
    func addOutput(to h: MutableMatrix, context: KernelContext) throws {
        let normed = context.buffer(Self.slots.normed, rows: h.rows, columns: h.columns)
        context.layerNorm(h.readOnly, norm, into: normed)  // [rows, H]
        let inner = context.buffer(Self.slots.inner, rows: h.rows, columns: down.outFeatures)
        try context.linear(normed.readOnly, down, into: inner)  // [rows, A]
        context.apply(.relu, to: inner)
        let output = context.buffer(Self.slots.output, rows: h.rows, columns: h.columns)
        try context.linear(inner.readOnly, up, into: output)  // [rows, H]
        context.add(output.readOnly, into: h)
    }
}

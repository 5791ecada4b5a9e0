/// Grouped conv over time with weight norm, giving relative position information
/// (UniSpeechPositionalConvEmbedding): conv(padding K/2) -> drop the last frame if K is even -> activation.
struct PositionalConvEmbedding {
    let conv: ConvWeights
    let activation: Activation

    init(config: UniSpeechConfig, weights: WeightLoader) throws {
        let hidden = config.hiddenSize, kernel = config.numConvPosEmbeddings, groups = config.numConvPosEmbeddingGroups
        let perGroup = hidden / groups
        let prefix = "encoder.pos_conv_embed.conv"
        let magnitude = try weights.floats(prefix + ".weight_g", shape: [1, 1, kernel]).array
        let direction = try weights.floats(prefix + ".weight_v", shape: [hidden, perGroup, kernel])
        conv = ConvWeights(
            torchWeight: direction, bias: try weights.floats(prefix + ".bias", shape: [hidden]),
            inChannels: hidden, outChannels: hidden, kernel: kernel, padding: kernel / 2, groups: groups,
            tapScales: Self.weightNormScales(magnitude: magnitude, direction: direction, kernel: kernel))
        activation = config.featureActivation
    }

    /// Weight norm as per-tap factors: weight = g * v / ||v|| with the norm over all dims except dim 2 (the tap),
    /// v [out, in, kernel], g [kernel]; returns g[tap] / ||v[:, :, tap]||.
    static func weightNormScales(magnitude: [Float], direction: FloatStorage, kernel: Int) -> [Float] {
        var squares = [Double](repeating: 0, count: kernel)
        direction.withUnsafeBufferPointer { v in
            squares.withUnsafeMutableBufferPointer { square in
                let lanes = 4, vectorTaps = kernel / lanes * lanes
                let sums = UnsafeMutableRawPointer(square.baseAddress!)
                for start in stride(from: 0, to: v.count, by: kernel) {
                    let row = UnsafeRawPointer(v.baseAddress! + start)
                    // Four taps at a time (SIMD loads: ~3x the scalar loop); each tap's sum still adds the rows in order.
                    for tap in stride(from: 0, to: vectorTaps, by: lanes) {
                        let x = SIMD4<Double>(row.loadUnaligned(fromByteOffset: tap * MemoryLayout<Float>.stride, as: SIMD4<Float>.self))
                        let offset = tap * MemoryLayout<Double>.stride
                        sums.storeBytes(of: sums.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self) + x * x,
                                        toByteOffset: offset, as: SIMD4<Double>.self)
                    }
                    for tap in vectorTaps..<kernel { square[tap] += Double(v[start + tap]) * Double(v[start + tap]) }
                }
            }
        }
        return (0..<kernel).map { Float(Double(magnitude[$0]) / squares[$0].squareRoot()) }
    }

    /// position embeddings[frames, H] of hidden[frames, H] (one batch item) into `out` (room for (frames + 1) x H).
    func callAsFunction(_ hidden: UnsafePointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        _ = Kernels.conv1d(hidden, length: frames, conv, into: out, workspace: workspace)  // [frames + 1 if K even, H]
        activation.apply(out, count: frames * conv.outChannels)  // the extra last frame is dropped
    }
}

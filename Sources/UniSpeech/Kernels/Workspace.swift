import Synchronization

/// Reusable f32 scratch buffers for forward passes: each slot grows to the largest size asked of it and is
/// reused by every later layer and call, so the hot path does not allocate (nor page-fault fresh memory).
/// One forward pass uses a workspace at a time (`WorkspacePool` hands them out), hence the unchecked Sendable.
final class Workspace: @unchecked Sendable {
    /// What a buffer holds; two slots are never the same memory.
    enum Slot: CaseIterable {
        /// The feature encoder's ping-pong conv outputs.
        case convA, convB
        /// Conv features of the whole batch [B * T, C], then the layer-normed features.
        case features, normedFeatures
        /// The encoder's hidden state [B * T, H] and a layer-normed copy (pre-LN layers).
        case hidden, normed
        /// The projected features [B * T, H] the encoder starts from.
        case projected
        /// Attention projections and context [B * T, H].
        case query, key, value, context
        /// The attention or feed-forward block's output [B * T, H], before the residual add.
        case sublayerOutput
        /// Attention scores of one (item, head) [T, T].
        case scores
        /// Feed-forward inner activations [B * T, I].
        case inner
        /// The positional conv's output [T (+1), H] and its im2col block.
        case position, columns
        /// One f16 linear layer's weights widened to f32 [out, in].
        case weights
    }

    private var buffers: [Slot: UnsafeMutableBufferPointer<Float>] = [:]

    /// Room for `count` floats in `slot` (contents undefined); valid until the next call for the same slot.
    func buffer(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        if let existing = buffers[slot], existing.count >= count { return existing.baseAddress! }
        buffers[slot]?.deallocate()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        let fresh = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: max(count, 1)), count: max(count, 1))
        buffers[slot] = fresh
        return fresh.baseAddress!
    }

    deinit {
        for buffer in buffers.values { buffer.deallocate() }
    }
}

/// Workspaces kept between forward passes; each pass borrows one, so concurrent passes never share buffers.
final class WorkspacePool: Sendable {
    private let idle = Mutex<[Workspace]>([])

    /// Runs `body` with a workspace no other caller holds, returning it to the pool afterwards.
    func withWorkspace<R>(_ body: (Workspace) throws -> R) rethrows -> R {
        let workspace = idle.withLock { $0.popLast() } ?? Workspace()
        defer { idle.withLock { $0.append(workspace) } }
        return try body(workspace)
    }
}

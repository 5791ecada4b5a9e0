import CDNNL
import CKernels
import COpenBLAS
import Foundation

/// Which library runs the matrix products.
public enum GemmBackend: String, Sendable, CaseIterable {
    /// oneDNN matmul: kernels chosen from the CPU's features (AVX2, AVX-512, VNNI ...) at run time.
    case onednn
    /// OpenBLAS sgemm, single-threaded per call, the rows split among the model's threads.
    case openblas
    /// oneDNN, with int8 products also scaled back to f32 inside its matmul (zero point, scales and bias as
    /// attributes and post-ops) where it has brgemm (AVX-512), instead of a separate pass; the rows' codes then
    /// share one zero point. Slower than `onednn` on the machines measured so far (benchmarks/PROBES.md section 6).
    case onednnFused = "onednn-fused"

    /// True for the backends that run their products on oneDNN.
    public var usesOnednn: Bool { self != .openblas }
}

/// Why a kernel could not run: a library fault or an unsupported CPU, never a bad file.
public enum KernelError: LocalizedError, Equatable {
    case onednn(operation: String, status: Int)

    public var errorDescription: String? {
        switch self {
        case let .onednn(operation, status): return "oneDNN \(operation) failed with status \(status)"
        }
    }
}

/// What this CPU and the linked libraries offer, read once per process (which also ends OpenBLAS's idle worker threads).
public struct ComputePlatform: Sendable {
    /// CPU features the kernels look at, by their usual names (avx2, avx512f, avx512_vnni ...).
    public let features: [String]
    /// The instruction set oneDNN dispatches to here (honours DNNL_MAX_CPU_ISA).
    public let onednnISA: String
    /// The kernel family OpenBLAS chose for this CPU ("Haswell", "SkylakeX", "Prescott" ...).
    public let openblasCore: String
    /// True when the CPU has AVX2 + FMA.
    public let hasAVX2: Bool
    /// True when oneDNN runs u8 x s8 products with VNNI (exact s32 accumulation of 8-bit codes).
    public let onednnHasVNNI: Bool
    /// True when oneDNN has its brgemm matmul kernels (AVX-512): they take dense operands only.
    public let onednnHasBrgemm: Bool

    /// OpenBLAS cores that run SSE-era kernels: on a CPU with AVX2 they waste most of it.
    static let genericOpenBLASCores: Set<String> = ["prescott", "nehalem", "core2", "atom", "katmai", "coppermine",
                                                    "northwood", "penryn", "dunnington", "banias", "generic", "unknown"]

    /// The platform of this process.
    public static let current = ComputePlatform()

    private init() {
        let bits = ck_cpu_features()
        let names: [(Int, String)] = [
            (CK_CPU_AVX2, "avx2"), (CK_CPU_FMA, "fma"), (CK_CPU_F16C, "f16c"),
            (CK_CPU_AVX512F, "avx512f"), (CK_CPU_AVX512BW, "avx512bw"), (CK_CPU_AVX512VL, "avx512vl"),
            (CK_CPU_AVX512VNNI, "avx512_vnni"), (CK_CPU_AVXVNNI, "avx_vnni"),
            (CK_CPU_AVX512BF16, "avx512_bf16"), (CK_CPU_AMX, "amx"),
        ]
        features = names.filter { bits & UInt32($0.0) != 0 }.map(\.1)
        hasAVX2 = bits & UInt32(CK_CPU_AVX2) != 0 && bits & UInt32(CK_CPU_FMA) != 0
        let isa = dnnl_get_effective_cpu_isa()
        onednnISA = Self.name(of: isa)
        onednnHasVNNI = Self.includes(isa, dnnl_cpu_isa_avx512_core_vnni) || Self.includes(isa, dnnl_cpu_isa_avx2_vnni)
        onednnHasBrgemm = Self.includes(isa, dnnl_cpu_isa_avx512_core)
        openblasCore = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        // Our OpenBLAS calls are single-threaded (the engine splits rows), so its workers are never needed, and
        // after the library loads they spin for ~0.1 s on the cores a forward pass wants (a base 10 s run took
        // ~60 ms longer with them: Zen 5, 2 threads).
        unispeech_openblas_end_idle_threads()
    }

    /// True when OpenBLAS would run generic (pre-AVX) kernels on a CPU that has AVX2.
    public var openblasIsGeneric: Bool {
        hasAVX2 && Self.genericOpenBLASCores.contains(openblasCore.lowercased())
    }

    private static func includes(_ isa: dnnl_cpu_isa_t, _ level: dnnl_cpu_isa_t) -> Bool {
        isa.rawValue & level.rawValue == level.rawValue
    }

    private static func name(of isa: dnnl_cpu_isa_t) -> String {
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"),
        ]
        return names.first { includes(isa, $0.0) }?.1 ?? "none"
    }

    /// One line for `--version`: features, oneDNN ISA, OpenBLAS core.
    public var summary: String {
        "cpu features \(features.isEmpty ? "none" : features.joined(separator: " ")); oneDNN isa \(onednnISA); OpenBLAS core \(openblasCore)"
    }
}

/// The kernels' engine for one model: the GEMM library, its thread count, oneDNN's primitives and reusable
/// workspaces. Nothing here is shared with other engines, so models with different settings run side by side.
public final class ComputeEngine: Sendable {
    public let threads: Int
    public let backend: GemmBackend
    let onednn: OnednnEngine
    private let workspaces = WorkspacePool()
    /// Per-operation timings, when profiling.
    let profileRecorder: ProfileRecorder?

    /// Primitives a model keeps between calls; each distinct matmul shape is one.
    public static let defaultPrimitiveCacheCapacity = 256

    /// An engine running `threads` threads on `backend`; with `profiling`, every operation's time is recorded
    /// (see `profile`), at the cost of a clock read around each.
    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, backend: GemmBackend = .onednn,
                primitiveCacheCapacity: Int = defaultPrimitiveCacheCapacity, profiling: Bool = false) throws {
        self.threads = max(1, threads)
        self.backend = backend
        profileRecorder = profiling ? ProfileRecorder() : nil
        onednn = try OnednnEngine(cacheCapacity: primitiveCacheCapacity)
        _ = ComputePlatform.current  // detected once per process, before the first forward pass
        if backend == .openblas {
            // Calls are single-threaded and split by the engine; OpenBLAS's own threads would spin between calls
            // and take the cores from the other threads (its thread count is process-wide, so it is set once).
            openblas_set_num_threads(1)
        }
    }

    /// "onednn avx512_core_vnni, 2 threads" / "openblas Haswell, 2 threads".
    public var summary: String {
        let platform = ComputePlatform.current
        switch backend {
        case .onednn, .onednnFused: return "\(backend.rawValue) \(platform.onednnISA), \(threads) thread\(threads == 1 ? "" : "s")"
        case .openblas: return "openblas \(platform.openblasCore), \(threads) thread\(threads == 1 ? "" : "s")"
        }
    }

    /// Where the forward passes so far spent their time, by operation; nil unless the engine was made with `profiling`.
    public var profile: KernelProfile? { profileRecorder?.snapshot }

    /// Runs `body` with a context of its own: a workspace no other caller holds and a oneDNN stream.
    public func withContext<R>(_ body: (KernelContext) throws -> R) throws -> R {
        try workspaces.withWorkspace { workspace in
            let context = try KernelContext(engine: self, workspace: workspace)
            return try body(context)
        }
    }
}

/// Everything one forward pass uses: its engine's settings, a workspace and a oneDNN stream. Not shared
/// between threads; the kernels split their own work.
public final class KernelContext {
    public let engine: ComputeEngine
    let workspace: Workspace
    let stream: OnednnStream

    init(engine: ComputeEngine, workspace: Workspace) throws {
        self.engine = engine
        self.workspace = workspace
        stream = try OnednnStream(engine.onednn)
    }

    public var threads: Int { engine.threads }

    /// True when this context's products run on oneDNN's brgemm kernels (oneDNN on an AVX-512 CPU): they take dense
    /// operands only, so strided operands are worth copying dense first.
    var runsBrgemm: Bool { engine.backend.usesOnednn && ComputePlatform.current.onednnHasBrgemm }

    /// Room for [rows, columns] floats in `slot` (contents undefined), valid until the slot is asked for again.
    public func buffer(_ slot: WorkspaceSlot, rows: Int, columns: Int) -> MutableMatrix {
        MutableMatrix(workspace.floats(slot, count: rows * columns), rows: rows, columns: columns)
    }

    /// A workspace copy of `values` seen as [rows, columns].
    public func matrix(_ slot: WorkspaceSlot, copying values: [Float], rows: Int, columns: Int) -> MutableMatrix {
        let matrix = buffer(slot, rows: rows, columns: columns)
        matrix.copy(from: values)
        return matrix
    }

    /// Fewest rows worth handing to another thread.
    static let minimumRowsPerThread = 64

    /// Calls `body` on disjoint row ranges covering 0..<rows, concurrently on up to the engine's thread count.
    func forEachRowBlock(_ rows: Int, _ body: (Range<Int>) -> Void) {
        forEachShare(rows, shares: min(threads, max(1, rows / Self.minimumRowsPerThread))) { _, range in body(range) }
    }

    /// Splits 0..<count into `shares` disjoint ranges (default: one per thread, at most one per item) and calls
    /// `body(share, range)` for each, concurrently on this thread's OpenMP team (the threads oneDNN uses); the
    /// share index lets each use its own scratch. `body` may write through pointers the caller owns: the ranges
    /// never overlap, which is what makes it sound.
    func forEachShare(_ count: Int, shares: Int? = nil, _ body: (Int, Range<Int>) -> Void) {
        let shares = max(1, min(shares ?? threads, count))
        guard shares > 1 else { return body(0, 0..<count) }
        withoutActuallyEscaping(body) { body in
            var work = DisjointWork(body: body, count: count, shares: shares)
            withUnsafeMutablePointer(to: &work) { pointer in
                ck_parallel(Int32(shares), { context, share in
                    let work = context!.assumingMemoryBound(to: DisjointWork.self).pointee
                    let share = Int(share)
                    work.body(share, (work.count * share / work.shares)..<(work.count * (share + 1) / work.shares))
                }, pointer)
            }
        }
    }
}

/// A closure run on disjoint ranges by `KernelContext.forEachShare`.
private struct DisjointWork {
    let body: (Int, Range<Int>) -> Void
    let count: Int
    let shares: Int
}

import Dispatch
import Synchronization

/// Where a model's forward passes spend their time, operation by operation (when the engine was made with
/// `profiling: true`): for each kind of operation and shape, the calls, the seconds and the floating-point work.
public struct KernelProfile: Sendable {
    /// One kind of operation at one shape, e.g. "matmul 499x768x3072 gelu (brg:avx512_core)".
    public struct Entry: Sendable {
        public var operation: String
        public var calls: Int
        public var seconds: Double
        /// Multiply-adds count two.
        public var flops: Double

        /// GFLOP/s over all calls.
        public var gflops: Double { seconds > 0 ? flops / seconds / 1e9 : 0 }
    }

    /// Every operation seen, the most time first.
    public var entries: [Entry]

    /// Total seconds over all entries.
    public var seconds: Double { entries.reduce(0) { $0 + $1.seconds } }

    /// An aligned table for people, one line per operation: share of the time, seconds, calls, GFLOP/s.
    public var table: String {
        let total = max(seconds, .leastNonzeroMagnitude)
        return entries.map { entry in
            let share = String(format: "%5.1f%%", 100 * entry.seconds / total)
            let rate = entry.flops > 0 ? String(format: "%7.1f GFLOP/s", entry.gflops) : String(repeating: " ", count: 15)
            return "\(share) \(String(format: "%8.4f s", entry.seconds)) \(String(format: "%5d", entry.calls))x \(rate)  \(entry.operation)"
        }.joined(separator: "\n")
    }
}

/// The engine's running totals while profiling.
final class ProfileRecorder: Sendable {
    private let entries = Mutex<[String: KernelProfile.Entry]>([:])

    func record(_ operation: String, seconds: Double, flops: Double) {
        entries.withLock { entries in
            var entry = entries[operation] ?? KernelProfile.Entry(operation: operation, calls: 0, seconds: 0, flops: 0)
            entry.calls += 1
            entry.seconds += seconds
            entry.flops += flops
            entries[operation] = entry
        }
    }

    var snapshot: KernelProfile {
        KernelProfile(entries: entries.withLock { Array($0.values) }.sorted { $0.seconds > $1.seconds })
    }
}

extension KernelContext {
    /// Runs `body`, recording its time under `operation` (built only when profiling) with `flops` of work.
    @inline(__always)
    func measure<R>(_ operation: @autoclosure () -> String, flops: @autoclosure () -> Double = 0, _ body: () throws -> R) rethrows -> R {
        guard let recorder = engine.profileRecorder else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        recorder.record(operation(), seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, flops: flops())
        return result
    }
}

import ArgumentParser
import Foundation
import Synchronization
import UniSpeech

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on audio: transcripts (CTC), labels (classification), label segments (frame classification), speaker similarities (x-vector), or output summaries.",
        discussion: """
            Many files: --manifest LIST --jsonl OUT.jsonl runs each input alone (the model loads once) and writes one \
            JSON line per input as it is done (exit 1 when an input failed: its line has "error"). Long audio: \
            --chunk-length S runs overlapping chunks as transformers' ASR pipeline does (CTC models). Shards for \
            Slurm job arrays and Kubernetes Indexed Jobs: docs/SCALING.md.
            """)

    /// When this environment variable is set, `run` writes one stderr line `timing: {JSON}` with the load, forward
    /// and per-phase seconds and the engine (benchmarks/run.py reads it).
    static let timingVariable = "UNISPEECH_TIMINGS"
    /// When this environment variable is set, `run` records every kernel operation's time and writes the table
    /// (share, seconds, calls, GFLOP/s, operation) to stderr.
    static let profileVariable = "UNISPEECH_PROFILE"

    @Argument(help: "A HF model directory, a .unispeech file, or a model id in the local HuggingFace cache (ORG/NAME[@REVISION]).")
    var model: String

    @Argument(help: """
        Audio files (.wav, .flac, .ogg, any rate, mixed to mono and resampled to the model's rate) or .npy \
        (float32 1-D samples at the model's rate); several form one padded batch.
        """)
    var inputs: [String] = []

    @Option(help: "Which head to run: \(HeadChoice.allValueStrings.joined(separator: ", ")).")
    var head: HeadChoice = .auto

    @Option(help: "Write the head's outputs (HF names) to this .safetensors file.")
    var output: String?

    @Flag(help: "With --output: also write every hidden state, hidden_states.0 .. hidden_states.N, as transformers' output_hidden_states=True gives them.")
    var hiddenStates = false

    @OptionGroup var language: LanguageOptions
    @OptionGroup var manyFiles: ManyFileOptions
    @OptionGroup var chunking: ChunkOptions

    @Option(help: """
        Refuse an input whose forward pass would need more than this many GB (estimated from the model's size and \
        the attention scores, which grow with the square of the length). Default: half the memory of this machine \
        or of its cgroup.
        """)
    var memoryLimit: Double?

    @OptionGroup var format: OutputFormatOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if manyFiles.manifest != nil {
            guard inputs.isEmpty else { throw ValidationError("give input files or --manifest, not both") }
            guard output == nil else { throw ValidationError("--output writes one batch's tensors; it does not combine with --manifest") }
            guard !format.json else { throw ValidationError("with --manifest the results go to --jsonl; --json does not apply") }
        } else {
            guard !inputs.isEmpty else { throw ValidationError("give at least one input file, or --manifest LIST --jsonl OUT.jsonl") }
        }
        try manyFiles.validate()
        try chunking.validate()
        if chunking.chunkLength != nil && output != nil {
            throw ValidationError("--output does not combine with --chunk-length: the chunks' logits are not kept")
        }
        if hiddenStates && output == nil { throw ValidationError("--hidden-states needs --output OUT.safetensors") }
        if let memoryLimit, !(memoryLimit > 0) { throw ValidationError("--memory-limit must be a positive number of GB") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let model = try ModelLocation.resolve(model)
        let limit = memoryLimit.map { Int(min($0 * 1e9, Double(Int.max / 2))) } ?? MemoryLimit.defaultBytes
        if let manifest = manyFiles.manifest, let jsonl = manyFiles.jsonl {
            let shard = try manyFiles.shard(environment: environment)
            let summary = try ManifestRun.run(ManifestRunRequest(
                modelPath: model, manifestPath: manifest, outputPath: jsonl, resume: manyFiles.resume, shard: shard,
                batchSize: manyFiles.batchSize, head: head.head, chunk: chunking.settings, memoryLimit: limit,
                threads: compute.threads, gemm: compute.backend, targetLanguage: language.language, progress: Console.progress))
            Console.error("unispeech: " + (shard.map { "shard \($0): " } ?? "") + summary.text)
            if summary.failed > 0 { throw ExitCode(UniSpeechCommand.Status.checkFailed) }
            return
        }
        let request = RunRequest(modelPath: model, inputPaths: inputs, head: head.head, outputPath: output, hiddenStates: hiddenStates,
                                 threads: compute.threads,
                                 gemm: compute.backend, targetLanguage: language.language,
                                 profiling: environment[Self.profileVariable] != nil, progress: Console.progress, memoryLimit: limit)
        let loaded = LoadedModels.keep(try request.openModel())
        if let settings = chunking.settings {
            let report = try ChunkedRun.run(request, chunks: settings, model: loaded)
            print(format.json ? report.json.serialized(pretty: true) : report.text)
            return
        }
        let report = try ModelRun.run(request, model: loaded)
        if environment[Self.timingVariable] != nil { Console.error("timing: " + report.timings.serialized()) }
        if let profile = report.profile { Console.error("profile (forward \(String(format: "%.3f", report.seconds)) s):\n" + profile.table) }
        print(format.json ? report.json.serialized(pretty: true) : report.text)
    }
}

/// `--chunk-length S [--stride S | --stride L R]`: long audio in overlapping chunks, as transformers' ASR pipeline.
struct ChunkOptions: ParsableArguments {
    @Option(help: "Run CTC models on overlapping chunks of this many seconds, joined as transformers' ASR pipeline joins them (chunk_length_s).")
    var chunkLength: Double?

    @Option(parsing: .upToNextOption, help: """
        Seconds of context dropped at each chunk's edges (stride_length_s): one value for both, or LEFT RIGHT \
        (put it after the inputs). Default: chunk length / 6.
        """)
    var stride: [Double] = []

    func validate() throws {
        guard chunkLength != nil || stride.isEmpty else { throw ValidationError("--stride needs --chunk-length") }
        guard stride.count <= 2 else { throw ValidationError("--stride takes one value (both sides) or two (left right)") }
    }

    /// The settings asked for, nil without --chunk-length.
    var settings: ChunkSettings? { chunkLength.map { ChunkSettings(length: $0, stride: stride.isEmpty ? nil : stride) } }
}

/// The options of a run over a manifest.
struct ManyFileOptions: ParsableArguments {
    @Option(help: "Run every input of LIST: a JSONL manifest ({\"audio\": PATH, ...} per line), a text file of paths, or a directory searched for audio files.")
    var manifest: String?

    @Option(help: "With --manifest: write one JSON line per input to this file (schemas/run-line.schema.json).")
    var jsonl: String?

    @Flag(help: "With --manifest: continue the --jsonl file, skipping the inputs it has a line for (a torn last line is cut off).")
    var resume = false

    @Option(help: "With --manifest: run only shard I of N (0-based): the inputs at positions I, I + N, I + 2N ... of the manifest.")
    var shard: String?

    @Option(help: "With --manifest: the number of shards; the shard index comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.")
    var shards: Int?

    @Option(help: "With --manifest: inputs per forward pass, grouped by length (only for models whose feature extractor returns an attention mask).")
    var batchSize = 1

    func validate() throws {
        guard manifest != nil else {
            guard jsonl == nil, !resume, shard == nil, shards == nil, batchSize == 1 else {
                throw ValidationError("--jsonl, --resume, --shard, --shards and --batch-size go with --manifest")
            }
            return
        }
        guard jsonl != nil else { throw ValidationError("--manifest needs --jsonl OUT.jsonl") }
        guard shard == nil || shards == nil else { throw ValidationError("give --shard I/N or --shards N, not both") }
        if let shard { _ = try Shard(parsing: shard) }
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    /// The shard to run: --shard, else the scheduler's task index (Slurm job arrays, Kubernetes Indexed Jobs with
    /// --shards), else nil (every input). Only the command line reads the environment.
    func shard(environment: [String: String]) throws -> Shard? {
        if let shard { return try Shard(parsing: shard) }
        if environment[SchedulerVariable.slurmTaskID] != nil {
            func number(_ name: String, default value: Int?) throws -> Int {
                guard let text = environment[name] else {
                    if let value { return value }
                    throw SchedulerShardError.missing(name, because: SchedulerVariable.slurmTaskID)
                }
                guard let number = Int(text) else { throw SchedulerShardError.notANumber(name, text) }
                return number
            }
            let id = try number(SchedulerVariable.slurmTaskID, default: nil)
            let first = try number(SchedulerVariable.slurmTaskMin, default: 0)
            let step = try number(SchedulerVariable.slurmTaskStep, default: 1)
            let count = try shards ?? number(SchedulerVariable.slurmTaskCount, default: nil)
            guard step > 0, (id - first) % step == 0 else {
                throw SchedulerShardError.unevenSlurmArray(id: id, first: first, step: step)
            }
            return try announce(Shard(index: (id - first) / step, count: count), from: SchedulerVariable.slurmTaskID)
        }
        guard let shards else { return nil }
        guard let text = environment[SchedulerVariable.jobCompletionIndex] else {
            throw SchedulerShardError.noTaskIndex
        }
        guard let index = Int(text) else { throw SchedulerShardError.notANumber(SchedulerVariable.jobCompletionIndex, text) }
        return try announce(Shard(index: index, count: shards), from: SchedulerVariable.jobCompletionIndex)
    }

    private func announce(_ shard: Shard, from variable: String) -> Shard {
        Console.error("unispeech: shard \(shard) (from \(variable))")
        return shard
    }
}

/// The environment variables job schedulers set for one task of an array.
enum SchedulerVariable {
    /// Slurm job arrays (sbatch --array): this task's id, the lowest id, the step between ids, the number of tasks.
    static let slurmTaskID = "SLURM_ARRAY_TASK_ID"
    static let slurmTaskMin = "SLURM_ARRAY_TASK_MIN"
    static let slurmTaskStep = "SLURM_ARRAY_TASK_STEP"
    static let slurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
    /// Kubernetes Indexed Jobs: this pod's completion index, 0 .. completions - 1.
    static let jobCompletionIndex = "JOB_COMPLETION_INDEX"
}

/// Why the scheduler's environment gives no shard.
enum SchedulerShardError: LocalizedError {
    case missing(String, because: String)
    case notANumber(String, String)
    case unevenSlurmArray(id: Int, first: Int, step: Int)
    case noTaskIndex

    var errorDescription: String? {
        switch self {
        case let .missing(name, variable): return "\(variable) is set but \(name) is not; give --shards N or --shard I/N"
        case let .notANumber(name, text): return "\(name)=\(text) is not a whole number"
        case let .unevenSlurmArray(id, first, step):
            return "Slurm array task \(id) (first \(first), step \(step)) is not on the array's steps; give --shard I/N"
        case .noTaskIndex:
            return "--shards needs \(SchedulerVariable.slurmTaskID) or \(SchedulerVariable.jobCompletionIndex) in the environment; or give --shard I/N"
        }
    }
}

/// The default of --memory-limit.
enum MemoryLimit {
    /// cgroup files that hold the memory limit of this process's container (v2, then v1).
    static let cgroupFiles = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]

    /// Half the machine's memory, or of the cgroup limit when that is lower.
    static var defaultBytes: Int {
        var total = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        for file in cgroupFiles {
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
               let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
                total = min(total, limit)
            }
        }
        return total / 2
    }
}

/// Models a command loaded stay loaded until the process exits, when the system reclaims them at once: unloading one
/// releases each of its oneDNN kernels in turn (base model: ~290 code buffers, ~28 ms) after the work is done.
enum LoadedModels {
    private static let kept = Mutex<[SpeechModel]>([])

    /// Keeps `model` for the rest of the process; returns it.
    static func keep(_ model: SpeechModel) -> SpeechModel {
        kept.withLock { $0.append(model) }
        return model
    }
}

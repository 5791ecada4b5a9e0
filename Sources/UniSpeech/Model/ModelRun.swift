import Foundation

/// Why `run` could not start.
public enum RunError: LocalizedError, Equatable {
    case unsupportedInput(path: String)

    public var errorDescription: String? {
        switch self {
        case let .unsupportedInput(path): return "\(path): unsupported input type (expected a .npy file of float32 samples)"
        }
    }
}

/// What `unispeech run` asks for.
public struct RunRequest: Sendable {
    public var modelPath: String
    public var inputPaths: [String]
    /// nil: the model's default head.
    public var head: ModelHead?
    public var outputPath: String?
    public var threads: Int

    public init(modelPath: String, inputPaths: [String], head: ModelHead? = nil, outputPath: String? = nil, threads: Int) {
        self.modelPath = modelPath
        self.inputPaths = inputPaths
        self.head = head
        self.outputPath = outputPath
        self.threads = threads
    }
}

/// Summary statistics of one output tensor.
public struct TensorSummary: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var minimum: Float
    public var maximum: Float
    public var mean: Float

    init(_ tensor: NamedTensor) {
        name = tensor.name
        shape = tensor.shape
        minimum = tensor.values.min() ?? 0
        maximum = tensor.values.max() ?? 0
        mean = tensor.values.isEmpty ? 0 : Float(tensor.values.reduce(0.0) { $0 + Double($1) } / Double(tensor.values.count))
    }
}

/// The result of one `run`: the outputs and what they came from.
public struct RunReport: Sendable {
    public var request: RunRequest
    public var head: ModelHead
    public var sampleCounts: [Int]
    public var output: ModelOutput
    public var seconds: Double

    public var summaries: [TensorSummary] { output.tensors.map(TensorSummary.init) }

    /// Lines for people.
    public var text: String {
        var lines = ["model \(request.modelPath), head \(head.rawValue), \(request.inputPaths.count) input(s), \(String(format: "%.3f", seconds)) s"]
        for (index, path) in request.inputPaths.enumerated() {
            lines.append("  input \(path): \(sampleCounts[index]) samples, \(output.frameLengths[index]) frames")
        }
        for summary in summaries {
            lines.append("  \(summary.name) \(summary.shape): min \(summary.minimum), max \(summary.maximum), mean \(summary.mean)")
        }
        if let path = request.outputPath { lines.append("wrote \(path)") }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON for programs.
    public var json: JSONValue {
        .object([
            ("model", .string(request.modelPath)),
            ("head", .string(head.rawValue)),
            ("seconds", .double(seconds)),
            ("inputs", .array(request.inputPaths.enumerated().map { index, path in
                .object([("path", .string(path)), ("samples", .int(Int64(sampleCounts[index]))),
                         ("frames", .int(Int64(output.frameLengths[index])))])
            })),
            ("outputs", .array(summaries.map { summary in
                .object([("name", .string(summary.name)), ("shape", .array(summary.shape.map { .int(Int64($0)) })),
                         ("min", .double(Double(summary.minimum))), ("max", .double(Double(summary.maximum))),
                         ("mean", .double(Double(summary.mean)))])
            })),
            ("output_file", request.outputPath.map { .string($0) } ?? .null),
        ])
    }
}

/// Loads a model and inputs, runs one head on the padded batch, and writes the outputs when asked.
public enum ModelRun {
    /// The samples of one input file at the model's sampling rate.
    public static func loadWaveform(path: String, samplingRate: Int) throws -> [Float] {
        guard path.lowercased().hasSuffix(".npy") else { throw RunError.unsupportedInput(path: path) }
        return try NpyReader.readFloat32Vector(path: path)
    }

    /// When this environment variable is set, `run` writes one stderr line `timing: {JSON}` with the load,
    /// forward and per-phase seconds (benchmarks/run.py reads it).
    public static let timingVariable = "UNISPEECH_TIMINGS"

    /// Runs `request` end to end.
    public static func run(_ request: RunRequest) throws -> RunReport {
        Kernels.setThreads(request.threads)
        let loadStart = Date()
        let bundle = try ModelBundle.open(path: request.modelPath)
        let model = try UniSpeechModel(bundle: bundle)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let head = request.head ?? model.defaultHead
        let waveforms = try request.inputPaths.map {
            try loadWaveform(path: $0, samplingRate: bundle.featureExtractor.samplingRate)
        }
        let batch = FeatureExtractor(config: bundle.featureExtractor).makeBatch(waveforms)
        let start = Date()
        let output = try model.run(batch, head: head)
        let seconds = Date().timeIntervalSince(start)
        if ProcessInfo.processInfo.environment[timingVariable] != nil {
            let fields = [("load_s", JSONValue.double(loadSeconds)), ("forward_s", .double(seconds))]
                + output.phaseSeconds.map { ($0.name + "_s", JSONValue.double($0.seconds)) }
            Console.error("timing: " + JSONValue.object(fields).serialized())
        }
        if let path = request.outputPath {
            try SafetensorsWriter.write(
                output.tensors.map { SafetensorsWriter.Entry(name: $0.name, shape: $0.shape, floats: $0.values) },
                metadata: [("head", head.rawValue)], to: path, inputs: request.inputPaths)
        }
        return RunReport(request: request, head: head, sampleCounts: waveforms.map(\.count), output: output, seconds: seconds)
    }
}

import Foundation

extension ModelBundle {
    /// Opens a model: a HF checkpoint directory or a .unispeech file.
    public static func open(path: String) throws -> ModelBundle {
        if NativeFormat.isNativePath(path) { return try openNative(path: path) }
        let checkpoint = try HFCheckpoint.open(directory: path)
        let config = try UniSpeechConfig(json: checkpoint.config, source: checkpoint.configPath)
        return ModelBundle(config: config, weights: try CanonicalTensorSource(checkpoint.weights.source),
                           sidecars: checkpoint.sidecars, description: "HF directory \(checkpoint.directory)")
    }

    /// Opens a .unispeech file; its f16 and i8 (+ scale) tensors go to the loader as stored.
    static func openNative(path: String) throws -> ModelBundle {
        let reader = try NativeReader(path: path)
        let header = reader.header
        let config = try UniSpeechConfig(json: header.config, source: path + " (config)")
        return ModelBundle(config: config, weights: reader, sidecars: header.sidecars,
                           description: "native file \(path) (\(header.weightFormat.rawValue))")
    }
}

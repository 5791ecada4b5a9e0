import Foundation

extension ModelBundle {
    /// Opens a model: a HF checkpoint directory or a .unispeech file. With `targetLanguage`, a HF directory's MMS
    /// adapter for that language is loaded (`LanguageAdapter`); a native file must have that language built in.
    public static func open(path: String, targetLanguage: String? = nil) throws -> ModelBundle {
        if NativeFormat.isNativePath(path) { return try openNative(path: path, targetLanguage: targetLanguage) }
        return try openHF(directory: path, targetLanguage: targetLanguage).bundle
    }

    /// Opens a HF directory, with `targetLanguage`'s adapter when given; also returns the checkpoint's files and the
    /// adapter file's name.
    static func openHF(directory: String, targetLanguage: String?) throws -> (bundle: ModelBundle, checkpoint: HFCheckpoint,
                                                                             adapterFile: String?) {
        let checkpoint = try HFCheckpoint.open(directory: directory)
        let config = try UniSpeechConfig(json: checkpoint.config, source: checkpoint.configPath)
        let bundle = try ModelBundle(config: config, weights: try CanonicalTensorSource(checkpoint.weights.source, family: config.family),
                                     sidecars: checkpoint.sidecars, description: "HF directory \(checkpoint.directory)",
                                     preprocessorSource: checkpoint.directory + "/" + ModelSidecars.File.preprocessorConfig.rawValue)
        guard let targetLanguage else { return (bundle, checkpoint, nil) }
        let adapter = try languageAdapter(targetLanguage, directory: directory, bundle: bundle)
        return (try LanguageAdapter.apply(adapter.weights, file: adapter.path, language: targetLanguage, to: bundle), checkpoint,
                URL(fileURLWithPath: adapter.path).lastPathComponent)
    }

    /// Opens a .unispeech file; its f16 and i8 (+ scale) tensors go to the loader as stored.
    static func openNative(path: String, targetLanguage: String?) throws -> ModelBundle {
        let reader = try NativeReader(path: path)
        let header = reader.header
        if let targetLanguage, targetLanguage != header.targetLanguage {
            throw LanguageAdapterError.builtInLanguage(path: path, builtIn: header.targetLanguage, asked: targetLanguage)
        }
        let config = try UniSpeechConfig(json: header.config, source: path + " (config)")
        var bundle = try ModelBundle(config: config, weights: reader, sidecars: header.sidecars,
                                     description: "native file \(path) (\(header.weightFormat.rawValue))",
                                     preprocessorSource: path + " (\(ModelSidecars.File.preprocessorConfig.rawValue))")
        bundle.targetLanguage = header.targetLanguage
        return bundle
    }

    /// The MMS adapter file of `language` in the HF `directory`: its path and tensors under canonical names.
    static func languageAdapter(_ language: String, directory: String,
                                bundle: ModelBundle) throws -> (path: String, weights: CanonicalTensorSource) {
        try LanguageAdapter.checkSupported(bundle)
        let names = try LanguageAdapter.fileNames(language: language)
        guard let name = names.first(where: { FileManager.default.fileExists(atPath: directory + "/" + $0) }) else {
            throw LanguageAdapterError.noAdapterFile(directory: directory, language: language, tried: names)
        }
        let path = directory + "/" + name
        return (path, try CanonicalTensorSource(StoredWeights.open(file: path).source, family: bundle.config.family))
    }
}

// `import UniSpeech` gives an app the whole public API: the facade and tools here, and the types they take and
// return from the layers below (tensors, configs, heads, errors, the compute engine's settings).
@_exported import UniSpeechAudio
@_exported import UniSpeechCheckpoint
@_exported import UniSpeechCore
@_exported import UniSpeechFormat
@_exported import UniSpeechKernels
@_exported import UniSpeechModels

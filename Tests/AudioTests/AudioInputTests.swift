import Foundation
import Testing
import TestSupport
@testable import UniSpeechAudio
@testable import UniSpeechCore

/// Decoding, mixing and resampling against python (wave + numpy + python-soxr), from scripts/make_audio_fixtures.py.
struct AudioInputTests {
    static let golden = Fixtures.resampleGolden

    static func floats(_ key: String) -> [Float] { golden[key]!.arrayValue!.map { Float($0.doubleValue!) } }

    @Test func stereoIsMixedToTheMeanOfItsChannels() throws {
        let audio = try AudioFile.read(path: Fixtures.path("audio/chirp-44k-stereo.wav"))
        #expect(audio.channels == 2 && audio.sampleRate == 44_100)
        #expect(audio.samples.count == Self.golden["stereo_frames"]!.intValue!)
        // Exact: int16 / 32768 and a two-term mean are exact in f32 on both sides.
        #expect(Array(audio.samples.prefix(16)) == Self.floats("mono_first_samples"))
    }

    @Test func threeChannelsAreAveraged() throws {
        let audio = try AudioFile.read(path: Fixtures.path("audio/chirp-16k-three-channels.wav"))
        #expect(audio.channels == 3)
        let expected = Self.floats("three_channel_mean_first_samples")
        // A three-term f32 sum divided by 3: numpy sums pairwise, we sum left to right; within 1 ulp of 0.5.
        for (got, want) in zip(audio.samples.prefix(16), expected) { #expect(abs(got - want) <= 6e-8) }
    }

    @Test func resamplingEqualsPythonSoxrHQ() throws {
        let audio = try AudioFile.read(path: Fixtures.path("audio/chirp-44k-stereo.wav"))
        let resampled = try Resampler.resample(audio.samples, from: audio.sampleRate, to: 16_000, path: "chirp")
        let expected = Self.floats("resampled")
        #expect(resampled.count == expected.count)
        // Same algorithm (libsoxr SOXR_HQ, f32 in and out); Debian's libsoxr 0.1.3 and python-soxr's bundled
        // build may round differently, so allow 1e-5 absolute on a signal of amplitude <= 0.5.
        let worst = zip(resampled, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-5, "max abs difference \(worst)")
    }

    @Test func flacIsLosslessAndOggDecodes() throws {
        let flac = try AudioFile.read(path: Fixtures.path("audio/chirp-16k.flac"))
        #expect(flac.channels == 1 && flac.sampleRate == 16_000)
        #expect(flac.samples.count == Self.golden["three_channel_frames"]!.intValue!)
        // FLAC is lossless: the 16-bit samples come back exactly.
        #expect(Array(flac.samples.prefix(16)) == Self.floats("flac_first_channel_first_samples"))
        let ogg = try AudioFile.read(path: Fixtures.path("audio/chirp-16k.ogg"))
        #expect(ogg.sampleRate == 16_000 && ogg.channels == 1)
        #expect(ogg.samples.count == flac.samples.count)
    }

    @Test func sameRateIsPassedThrough() throws {
        let samples: [Float] = [0.1, -0.2, 0.3]
        #expect(try Resampler.resample(samples, from: 16_000, to: 16_000, path: "x") == samples)
    }

    @Test func brokenFilesGiveOneClearError() throws {
        for name in ["empty.wav", "text.wav", "truncated.wav"] {
            let path = Fixtures.path("audio/" + name)
            do {
                _ = try AudioFile.read(path: path)
                Issue.record("\(name) was accepted")
            } catch let error as AudioError {
                guard case let .unreadable(errorPath, _) = error else {
                    Issue.record("\(name): unexpected \(error)")
                    continue
                }
                #expect(errorPath == path)
                #expect(error.errorDescription!.hasPrefix(path + ": not a readable audio file ("))
            }
        }
        let missing = Fixtures.path("audio/missing.wav")
        #expect(throws: AudioError.notFound(path: missing)) { try AudioFile.read(path: missing) }
        let noSamples = Fixtures.path("audio/no-samples.wav")
        #expect(throws: AudioError.empty(path: noSamples)) { try AudioFile.read(path: noSamples) }
    }

    @Test func zeroHertzIsRefusedInTheFileAndForTheModel() throws {
        let path = Fixtures.path("audio/zero-rate.wav")
        #expect {
            try AudioFile.read(path: path)
        } throws: { error in
            // libsndfile itself may refuse the header, or report 0 Hz; either way the file is named.
            switch error as? AudioError {
            case .badSampleRate(path, 0)?, .unreadable(path, _)?: return true
            default: return false
            }
        }
        #expect(throws: AudioError.badTargetRate(rate: 0)) {
            try Resampler.resample([0.1, 0.2], from: 44_100, to: 0, path: "x")
        }
        #expect(throws: AudioError.badSampleRate(path: "x", rate: 0)) {
            try Resampler.resample([0.1, 0.2], from: 0, to: 16_000, path: "x")
        }
    }

    @Test func tooShortToResampleIsAnError() {
        #expect(throws: AudioError.tooShort(path: "x", samples: 1, rate: 44_100, targetRate: 16_000)) {
            try Resampler.resample([0.5], from: 44_100, to: 16_000, path: "x")
        }
    }
}

@testable import UniSpeech

/// A small deterministic generator for the mutator (libFuzzer passes a seed per call): verify's SplitMix64.
struct FuzzRandom {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 | 1) }

    mutating func next() -> UInt64 { generator.next() }

    /// Uniform in 0..<count (count > 0).
    mutating func below(_ count: Int) -> Int { Int(next() % UInt64(count)) }

    /// True with probability `numerator` / `denominator`.
    mutating func chance(_ numerator: Int, in denominator: Int) -> Bool { below(denominator) < numerator }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// JSON-level edits of a fuzz input: a field of config.json or preprocessor_config.json gets a value another case
/// has, a boundary number, another type, a longer or shorter list, or goes away; a field of another case is added;
/// the case (whose weights are used) or the language changes.
struct ConfigMutator {
    let fixtures: FamilyFixtures

    /// Numbers at and around the limits a count or size meets: zero, signs, powers of two, Int32 / Int64 / double
    /// extremes, and the largest exactly representable integer of a double.
    static let boundaryIntegers: [Int64] = [0, 1, -1, 2, 3, 4, 5, 7, 8, 16, 64, 255, 256, 1000, 4096, 65_535, 65_536, 1_000_000,
                                            1_000_000_000, 2_147_483_647, 2_147_483_648, -2_147_483_648, 4_294_967_296,
                                            9_007_199_254_740_993, Int64.max, Int64.min, Int64.max / 2]
    static let boundaryDoubles: [Double] = [0, -0.0, 0.5, -1.5, 1e-30, Double.leastNonzeroMagnitude, 1e30, 1e300, Double.greatestFiniteMagnitude,
                                            2_147_483_647.5, 1e15, 16000.5]

    /// The input with one to three edits; nil when a file to edit is not a JSON object.
    func mutate(_ input: ConfigInput, random: inout FuzzRandom) -> ConfigInput? {
        var input = input
        for _ in 0...random.below(3) {
            switch random.below(10) {
            case 0:
                input.caseName = random.pick(fixtures.caseNames)
            case 1:
                let own = fixtures.languages[input.caseName] ?? []
                input.language = random.chance(1, in: 3) || own.isEmpty ? nil : random.pick(own)
            case 2, 3:
                guard let preprocessor = edit(input.preprocessor ?? Array("{}".utf8), values: fixtures.preprocessorValues,
                                              random: &random) else { return nil }
                input.preprocessor = random.chance(1, in: 20) ? nil : preprocessor
            default:
                guard let config = edit(input.config, values: fixtures.configValues, random: &random) else { return nil }
                input.config = config
            }
        }
        return input
    }

    /// One edit of a JSON object file.
    private func edit(_ bytes: [UInt8], values: [String: [JSONValue]], random: inout FuzzRandom) -> [UInt8]? {
        guard let json = try? JSONValue.parse(bytes, source: "fuzz"), var members = json.objectMembers else { return nil }
        if members.isEmpty || random.chance(1, in: 8) {
            let key = random.pick(values.keys.sorted())
            members.removeAll { $0.key == key }
            members.append((key, random.chance(1, in: 2) ? random.pick(values[key]!) : value(like: random.pick(values[key]!), random: &random)))
        } else {
            let index = random.below(members.count)
            if random.chance(1, in: 12) {
                members.remove(at: index)
            } else if let seen = values[members[index].key], random.chance(1, in: 4) {
                members[index].value = random.pick(seen)
            } else {
                members[index].value = value(like: members[index].value, random: &random)
            }
        }
        return Array(JSONValue.object(members).serialized().utf8)
    }

    /// A value derived from `value`: a boundary or nearby number, another type, or a list with an element changed,
    /// removed, repeated or the list emptied or grown.
    private func value(like value: JSONValue, random: inout FuzzRandom) -> JSONValue {
        if random.chance(1, in: 10) { return otherType(random: &random) }
        switch value {
        case let .int(number):
            return random.chance(1, in: 3) ? .int(number &+ Int64(random.below(5)) &- 2)
                : random.chance(1, in: 4) ? .int(number &* Int64(random.pick([2, 10, 1000, -1]))) : .int(random.pick(Self.boundaryIntegers))
        case let .double(number):
            return random.chance(1, in: 2) ? .double(random.pick(Self.boundaryDoubles)) : .double(number * Double(random.pick([-1, 2, 1e6])))
        case let .array(items):
            var items = items
            switch random.below(6) {
            case 0: items.removeAll()
            case 1 where !items.isEmpty: items.remove(at: random.below(items.count))
            case 2 where !items.isEmpty: items.insert(items[random.below(items.count)], at: random.below(items.count + 1))
            case 3 where !items.isEmpty: items += Array(repeating: items[random.below(items.count)], count: random.pick([8, 40, 200]))
            default:
                if items.isEmpty { items.append(.int(random.pick(Self.boundaryIntegers))) } else {
                    let index = random.below(items.count)
                    items[index] = self.value(like: items[index], random: &random)
                }
            }
            return .array(items)
        case let .object(members):
            var members = members
            let key = random.pick(["0", "1", "2", "7", "-1", "99", "2147483648", "1e3", " 1", "x", ""])
            if random.chance(1, in: 3), !members.isEmpty { members.remove(at: random.below(members.count)) } else {
                members.removeAll { $0.key == key }
                members.append((key, random.chance(3, in: 4) ? .string("LABEL_" + key) : otherType(random: &random)))
            }
            return .object(members)
        case .bool(let flag):
            return .bool(!flag)
        case .string, .null:
            return otherType(random: &random)
        }
    }

    private func otherType(random: inout FuzzRandom) -> JSONValue {
        random.pick([.null, .bool(true), .bool(false), .string(""), .string("x"), .string("12"), .array([]), .array([.int(1)]),
                     .object([]), .int(random.pick(Self.boundaryIntegers)), .double(random.pick(Self.boundaryDoubles))])
    }
}

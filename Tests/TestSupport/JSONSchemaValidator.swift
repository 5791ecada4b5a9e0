import Foundation
import UniSpeechCore

/// Checks a `JSONValue` against a JSON Schema (draft 2020-12 subset) for the tests.
///
/// Supported: boolean schemas, `type` (one name or a list; "integer" accepts whole doubles),
/// `properties`, `required`, `additionalProperties` (bool or schema), `propertyNames`, `items`, `prefixItems`,
/// `enum`, `const`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minItems`,
/// `maxItems`, `minLength`, `maxLength`, `pattern`, `$ref` (JSON pointers into the same document,
/// such as `#/$defs/name`), `allOf`, `anyOf`, `oneOf`. Annotations (`$schema`, `$id`, `title`,
/// `description`, `$comment`, `$defs`, `format`, `default`, `examples`) are ignored. Any other
/// keyword is reported as an error, so a schema never passes by using something unchecked.
public struct JSONSchemaValidator: Sendable {
    /// The whole schema document; `$ref` pointers resolve inside it.
    public let root: JSONValue

    /// Why a schema could not be loaded.
    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String)
        public var description: String {
            switch self {
            case let .unreadable(path): return "\(path): cannot read schema"
            }
        }
    }

    public static let annotations: Set<String> = [
        "$schema", "$id", "title", "description", "$comment", "$defs", "format", "default", "examples",
    ]
    public static let maxRefDepth = 64

    public init(schema: JSONValue) { root = schema }

    /// Loads a schema file (e.g. schemas/inspect.schema.json).
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw LoadError.unreadable(path: path) }
        root = try JSONValue.parse([UInt8](data), source: path)
    }

    /// Every violation, each prefixed with the JSON pointer of the offending value; empty when valid.
    public func validate(_ instance: JSONValue) -> [String] {
        var errors: [String] = []
        check(instance, against: root, at: "", refDepth: 0, errors: &errors)
        return errors
    }

    private func check(_ value: JSONValue, against schema: JSONValue, at pointer: String, refDepth: Int, errors: inout [String]) {
        func fail(_ message: String) { errors.append("\(pointer.isEmpty ? "/" : pointer): \(message)") }
        if case let .bool(allowed) = schema {
            if !allowed { fail("no value is allowed here") }
            return
        }
        guard let keywords = schema.objectMembers else {
            fail("schema is neither an object nor a boolean")
            return
        }
        for (keyword, argument) in keywords {
            switch keyword {
            case _ where Self.annotations.contains(keyword):
                continue
            case "$ref":
                guard refDepth < Self.maxRefDepth else { fail("$ref nesting deeper than \(Self.maxRefDepth)"); continue }
                guard let reference = argument.stringValue, let target = resolve(reference) else {
                    fail("unresolvable $ref \(argument.serialized())")
                    continue
                }
                check(value, against: target, at: pointer, refDepth: refDepth + 1, errors: &errors)
            case "type":
                let names = argument.arrayValue?.compactMap(\.stringValue) ?? [argument.stringValue ?? ""]
                if !names.contains(where: { Self.hasType(value, $0) }) {
                    fail("expected type \(names.joined(separator: " or ")), found \(Self.typeName(value))")
                }
            case "properties":
                guard let object = value.objectMembers, let properties = argument.objectMembers else { continue }
                for (name, subschema) in properties {
                    if let member = object.last(where: { $0.key == name }) {
                        check(member.value, against: subschema, at: pointer + "/" + Self.escape(name), refDepth: refDepth, errors: &errors)
                    }
                }
            case "required":
                guard let object = value.objectMembers else { continue }
                for name in argument.arrayValue?.compactMap(\.stringValue) ?? [] where !object.contains(where: { $0.key == name }) {
                    fail("missing required property '\(name)'")
                }
            case "additionalProperties":
                guard let object = value.objectMembers else { continue }
                let known = Set(schema["properties"]?.objectMembers?.map(\.key) ?? [])
                for (name, member) in object where !known.contains(name) {
                    if case .bool(false) = argument {
                        fail("property '\(name)' is not allowed")
                    } else {
                        check(member, against: argument, at: pointer + "/" + Self.escape(name), refDepth: refDepth, errors: &errors)
                    }
                }
            case "propertyNames":
                guard let object = value.objectMembers else { continue }
                for (name, _) in object {
                    check(.string(name), against: argument, at: pointer + "/" + Self.escape(name), refDepth: refDepth, errors: &errors)
                }
            case "prefixItems":
                guard let items = value.arrayValue, let schemas = argument.arrayValue else { continue }
                for (index, (item, subschema)) in zip(items, schemas).enumerated() {
                    check(item, against: subschema, at: pointer + "/\(index)", refDepth: refDepth, errors: &errors)
                }
            case "items":
                guard let items = value.arrayValue else { continue }
                let skipped = schema["prefixItems"]?.arrayValue?.count ?? 0
                for (index, item) in items.enumerated() where index >= skipped {
                    check(item, against: argument, at: pointer + "/\(index)", refDepth: refDepth, errors: &errors)
                }
            case "enum":
                let options = argument.arrayValue ?? []
                if !options.contains(where: { Self.equal($0, value) }) {
                    fail("\(value.serialized()) is not one of \(argument.serialized())")
                }
            case "const":
                if !Self.equal(argument, value) { fail("expected \(argument.serialized()), found \(value.serialized())") }
            case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
                guard let number = Self.number(value), let bound = Self.number(argument) else { continue }
                let ok = switch keyword {
                case "minimum": number >= bound
                case "maximum": number <= bound
                case "exclusiveMinimum": number > bound
                default: number < bound
                }
                if !ok { fail("\(value.serialized()) violates \(keyword) \(argument.serialized())") }
            case "minItems", "maxItems":
                guard let items = value.arrayValue, let bound = argument.intValue else { continue }
                if keyword == "minItems" ? items.count < bound : items.count > bound {
                    fail("array has \(items.count) items, \(keyword) is \(bound)")
                }
            case "minLength", "maxLength":
                guard let text = value.stringValue, let bound = argument.intValue else { continue }
                if keyword == "minLength" ? text.count < bound : text.count > bound {
                    fail("string has \(text.count) characters, \(keyword) is \(bound)")
                }
            case "pattern":
                guard let text = value.stringValue, let pattern = argument.stringValue else { continue }
                guard let regex = try? NSRegularExpression(pattern: pattern) else { fail("invalid pattern '\(pattern)'"); continue }
                if regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                    fail("'\(text)' does not match pattern '\(pattern)'")
                }
            case "allOf":
                for subschema in argument.arrayValue ?? [] {
                    check(value, against: subschema, at: pointer, refDepth: refDepth, errors: &errors)
                }
            case "anyOf", "oneOf":
                let subschemas = argument.arrayValue ?? []
                var failures: [[String]] = []
                for subschema in subschemas {
                    var branch: [String] = []
                    check(value, against: subschema, at: pointer, refDepth: refDepth, errors: &branch)
                    failures.append(branch)
                }
                let matches = failures.filter(\.isEmpty).count
                if matches == 0 {
                    let reasons = failures.map { $0.joined(separator: "; ") }.joined(separator: " | ")
                    fail("matches none of the \(keyword) schemas (\(reasons))")
                } else if keyword == "oneOf" && matches > 1 {
                    fail("matches \(matches) of the oneOf schemas, expected exactly one")
                }
            default:
                fail("schema uses unsupported keyword '\(keyword)'")
            }
        }
    }

    /// The subschema a `#/...` JSON pointer names.
    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for token in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let name = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let items = node.arrayValue, let index = Int(name), items.indices.contains(index) {
                node = items[index]
            } else if let next = node[name] {
                node = next
            } else {
                return nil
            }
        }
        return node
    }

    private static func escape(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    private static func hasType(_ value: JSONValue, _ name: String) -> Bool {
        switch (name, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
             ("number", .int), ("number", .double), ("integer", .int):
            return true
        case let ("integer", .double(d)):
            return d.isFinite && d.rounded() == d
        default:
            return false
        }
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// JSON equality: numbers compare by value (1 == 1.0), objects ignore member order.
    private static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = number(a), let y = number(b) { return x == y }
        switch (a, b) {
        case let (.array(x), .array(y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (.object(x), .object(y)):
            return x.count == y.count && x.allSatisfy { member in
                y.contains { $0.key == member.key && equal($0.value, member.value) }
            }
        default:
            return a == b
        }
    }
}

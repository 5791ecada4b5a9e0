import Foundation
import CJSONC

/// A parsed JSON document; objects keep their keys in document order.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

/// Why a JSON text could not be parsed.
public enum JSONError: LocalizedError, Equatable {
    case invalid(source: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .invalid(source, reason): return "\(source): invalid JSON (\(reason))"
        }
    }
}

// MARK: - Access

extension JSONValue {
    /// The value stored under `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    public var objectMembers: [(key: String, value: JSONValue)]? {
        if case let .object(m) = self { return m }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case let .array(a) = self { return a }
        return nil
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    /// An integer, also from a double with no fractional part.
    public var intValue: Int? {
        switch self {
        case let .int(i): return Int(exactly: i)
        case let .double(d): return d.rounded() == d && abs(d) < 9e15 ? Int(d) : nil
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

// MARK: - Parsing and writing through json-c

extension JSONValue {
    /// Parses a complete JSON text; `source` names the file in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> JSONValue {
        guard !bytes.isEmpty else { throw JSONError.invalid(source: source, reason: "empty text") }
        guard let tokener = json_tokener_new() else {
            throw JSONError.invalid(source: source, reason: "parser could not be created")
        }
        defer { json_tokener_free(tokener) }
        json_tokener_set_flags(tokener, Int32(JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8))
        let object: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                json_tokener_parse_ex(tokener, $0, Int32(clamping: buffer.count))
            }
        }
        let status = json_tokener_get_error(tokener)
        guard status == json_tokener_success, let root = object else {
            if let root = object { json_object_put(root) }
            let reason = status == json_tokener_continue
                ? "unexpected end of text"
                : String(cString: json_tokener_error_desc(status))
            throw JSONError.invalid(source: source, reason: reason)
        }
        defer { json_object_put(root) }
        let consumed = Int(json_tokener_get_parse_end(tokener))
        if bytes[consumed...].contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) {
            throw JSONError.invalid(source: source, reason: "trailing characters after the JSON value")
        }
        return convert(root)
    }

    public static func parse(_ text: String, source: String) throws -> JSONValue {
        try parse(Array(text.utf8), source: source)
    }

    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_int: return .int(json_object_get_int64(object))
        case json_type_double: return .double(json_object_get_double(object))
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            let pointer = json_object_get_string(object)!
            return .string(pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            })
        case json_type_array:
            let count = json_object_array_length(object)
            return .array((0..<count).map { convert(json_object_array_get_idx(object, $0)) })
        case json_type_object:
            var members: [(key: String, value: JSONValue)] = []
            var iterator = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&iterator, &end) == 0 {
                let key = String(cString: json_object_iter_peek_name(&iterator))
                members.append((key, convert(json_object_iter_peek_value(&iterator))))
                json_object_iter_next(&iterator)
            }
            return .object(members)
        default: return .null
        }
    }

    /// The JSON text of this value, written by json-c.
    public func serialized(pretty: Bool = false) -> String {
        let object = makeObject()
        defer { json_object_put(object) }
        var flags = JSON_C_TO_STRING_NOSLASHESCAPE
        flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) : JSON_C_TO_STRING_PLAIN
        return String(cString: json_object_to_json_string_ext(object, flags))
    }

    private func makeObject() -> OpaquePointer? {
        switch self {
        case .null: return nil
        case let .bool(b): return json_object_new_boolean(b ? 1 : 0)
        case let .int(i): return json_object_new_int64(i)
        case let .double(d):
            // JSON has no NaN or infinity; finite values keep their shortest round-trip spelling.
            guard d.isFinite else { return nil }
            if d.rounded() == d && abs(d) < 1e15 {
                return json_object_new_double_s(d, "\(Int64(d)).0")
            }
            return json_object_new_double_s(d, "\(d)")
        case let .string(s):
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map {
                    $0.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                        json_object_new_string_len($0, Int32(buffer.count))
                    }
                } ?? json_object_new_string("")
            }
        case let .array(items):
            let array = json_object_new_array()
            for item in items { json_object_array_add(array, item.makeObject()) }
            return array
        case let .object(members):
            let object = json_object_new_object()
            for (key, value) in members { json_object_object_add(object, key, value.makeObject()) }
            return object
        }
    }
}

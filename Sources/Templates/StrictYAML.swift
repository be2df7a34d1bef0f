import Foundation
import KubeModel
import Yams

/// Decodes YAML into `Codable` values and refuses anything the type does not name.
///
/// Decoding catches missing and mistyped keys; unknown keys are found by encoding the decoded
/// value again and looking for every key of the input in it: a key that did not survive the
/// round trip is one the type does not have.
public enum StrictYAML {
    public static func decode<T: Codable>(_ type: T.Type, file: URL) throws -> T {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw InputError(code: "invalid_catalog", field: file.path, rule: "cannot be read as UTF-8 text")
        }
        return try decode(type, yaml: text, source: file.path)
    }

    public static func decode<T: Codable>(_ type: T.Type, yaml: String, source: String) throws -> T {
        func fail(_ path: String, _ rule: String) -> InputError {
            InputError(code: "invalid_catalog", field: path.isEmpty ? source : "\(source): \(path)", rule: rule)
        }
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else { throw fail("", "is empty") }
            node = composed
        } catch let error as InputError {
            throw error
        } catch {
            throw fail("", "is not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        let value: T
        do {
            value = try YAMLDecoder().decode(type, from: node)
        } catch let error as DecodingError {
            throw describe(error, fail: fail)
        }
        let encoded = try Yams.compose(yaml: YAMLEncoder().encode(value))
        if let unknown = firstUnknownKey(in: node, against: encoded, path: []) {
            throw fail(unknown, "unknown key")
        }
        return value
    }

    private static func keyPath(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    private static func describe(_ error: DecodingError, fail: (String, String) -> InputError) -> InputError {
        switch error {
        case let .keyNotFound(key, context):
            return fail(keyPath(context.codingPath + [key]), "is required")
        case let .typeMismatch(type, context):
            return fail(keyPath(context.codingPath), "must be \(typeName(type))")
        case let .valueNotFound(type, context):
            return fail(keyPath(context.codingPath), "must be \(typeName(type)), not null")
        case let .dataCorrupted(context):
            return fail(keyPath(context.codingPath), "must be \(context.debugDescription.lowercased().trimmingCharacters(in: .punctuationCharacters))")
        @unknown default:
            return fail("", "cannot be decoded")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a mapping (\(name))"
        }
    }

    private static func firstUnknownKey(in original: Node, against encoded: Node?, path: [String]) -> String? {
        switch original {
        case .mapping(let mapping):
            let known = encoded?.mapping
            for (key, value) in mapping {
                let name = key.string ?? "?"
                guard let counterpart = known?[name] else {
                    return (path + [name]).joined(separator: ".")
                }
                if let inner = firstUnknownKey(in: value, against: counterpart, path: path + [name]) { return inner }
            }
        case .sequence(let items):
            let counterpart = encoded?.sequence
            for (index, item) in items.enumerated() {
                let other = counterpart.flatMap { index < $0.count ? $0[index] : nil }
                var p = path
                p[p.count - 1] += "[\(index)]"
                if let inner = firstUnknownKey(in: item, against: other, path: p) { return inner }
            }
        default:
            break
        }
        return nil
    }
}

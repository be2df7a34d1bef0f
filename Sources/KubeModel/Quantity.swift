/// A resource quantity such as `250m`, `512Mi` or `2`, kept as written and checked against
/// Kubernetes' quantity grammar.
public struct Quantity: Sendable, Hashable, YAMLRepresentable, CustomStringConvertible {
    public let value: String

    public init?(_ value: String) {
        guard Quantity.isValid(value) else { return nil }
        self.value = value
    }

    public var description: String { value }
    public var yamlNode: YAMLNode { .string(value) }

    static let suffixes: Set<String> = ["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]

    static func isValid(_ s: String) -> Bool {
        var digits = Substring(s)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        let numberEnd = digits.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? digits.endIndex
        let number = digits[..<numberEnd]
        guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1 else { return false }
        let suffix = String(digits[numberEnd...])
        if suffixes.contains(suffix) { return true }
        // Decimal exponent form: 1e3, 2E-2.
        if let e = suffix.first, e == "e" || e == "E" {
            var rest = suffix.dropFirst()
            if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
            return !rest.isEmpty && rest.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return false
    }
}

/// A value that is either a number or a name, as Kubernetes' IntOrString.
public enum IntOrString: Sendable, Hashable, YAMLRepresentable {
    case int(Int)
    case string(String)

    public var yamlNode: YAMLNode {
        switch self {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        }
    }
}

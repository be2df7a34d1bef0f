/// Kubernetes' rules for names, labels and annotations, checked before anything is rendered.
public enum NameRules {
    /// RFC 1123 label: at most 63 lower-case alphanumerics or '-', starting and ending alphanumeric.
    public static func isDNSLabel(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 63, isLowerAlnum(b.first!), isLowerAlnum(b.last!) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// RFC 1123 subdomain: dot-separated DNS labels, at most 253 characters.
    public static func isDNSSubdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    /// A label value: empty, or at most 63 characters of alphanumerics, '-', '_' and '.',
    /// starting and ending alphanumeric.
    public static func isLabelValue(_ s: String) -> Bool {
        let b = Array(s.utf8)
        if b.isEmpty { return true }
        guard b.count <= 63, isAlnum(b.first!), isAlnum(b.last!) else { return false }
        return b.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// A label or annotation key: an optional DNS-subdomain prefix and '/', then a name of at
    /// most 63 characters shaped like a label value (non-empty).
    public static func isQualifiedName(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return !parts[0].isEmpty && isLabelValue(String(parts[0]))
        case 2: return isDNSSubdomain(String(parts[0])) && !parts[1].isEmpty && isLabelValue(String(parts[1]))
        default: return false
        }
    }

    /// A Service port name or container port name (IANA_SVC_NAME): at most 15 characters,
    /// lower-case alphanumerics and '-', at least one letter, no leading, trailing or double '-'.
    public static func isPortName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 15, isDNSLabel(s), !s.contains("--") else { return false }
        return b.contains { $0 >= 97 && $0 <= 122 }
    }

    /// An environment variable name as the API server accepts it (C identifier form).
    public static func isEnvVarName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, !(first >= 48 && first <= 57) else { return false }
        return b.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
    private static func isAlnum(_ b: UInt8) -> Bool { isLowerAlnum(b) || (b >= 65 && b <= 90) }
}

/// Input that breaks a rule: it names the field and the rule, and is raised before anything
/// is rendered or written.
public struct InputError: DomainError, Equatable {
    /// A stable, machine-readable code such as `invalid_task_id`.
    public var code: String
    /// Where the bad value came from: `taskId`, `images.backend`, `templates/services/x.yaml: port`.
    public var field: String
    public var rule: String
    /// `.invalid` (400) for a malformed request, `.unprocessable` (422) for a well-formed one
    /// that cannot be done as asked.
    public var kind: FailureKind

    public init(code: String, field: String, rule: String, kind: FailureKind = .invalid) {
        self.code = code; self.field = field; self.rule = rule; self.kind = kind
    }

    public var message: String { description }

    /// Always one line: control characters from the input are shown escaped.
    public var description: String {
        var out = ""
        for scalar in "\(field): \(rule)".unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

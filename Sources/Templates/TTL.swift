import KubeModel

/// Time-to-live of a preview: a positive whole number of seconds, minutes, hours or days
/// (`90m`, `12h`, `7d`).
public enum TTL {
    public static func parse(_ text: String, field: String = "ttl", max: Int?) throws(InputError) -> Int {
        func fail(_ rule: String) -> InputError { InputError(code: "invalid_ttl", field: field, rule: rule) }
        guard let unit = text.last, let factor = ["s": 1, "m": 60, "h": 3600, "d": 86400][unit] else {
            throw fail("must be a positive number followed by s, m, h or d (e.g. 7d)")
        }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 7, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else {
            throw fail("must be a positive number followed by s, m, h or d (e.g. 7d)")
        }
        guard digits.first != "0" || n == 0 else { throw fail("must be written without leading zeros (e.g. 7d)") }
        guard n > 0 else { throw fail("must be greater than zero") }
        let seconds = n * factor
        if let max, seconds > max { throw fail("must be at most \(format(max))") }
        return seconds
    }

    public static func format(_ seconds: Int) -> String {
        if seconds % 86400 == 0 { return "\(seconds / 86400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}

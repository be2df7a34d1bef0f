import Foundation
import GitOps
import KubeModel
import Templates
import Testing

/// The patterns of openapi.yaml say exactly what the server accepts: over chosen edge cases,
/// a value matches the spec's pattern if and only if the server's own parser takes it.
@Suite("The spec's patterns agree with the server")
struct SpecAgreementTests {
    /// The `pattern:` on the line after `key` in openapi.yaml, as a regular expression.
    static func pattern(after marker: String) throws -> NSRegularExpression {
        let spec = try String(contentsOf: repoRoot().appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let lines = spec.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex { $0.contains(marker) }, "\(marker) not in openapi.yaml")
        let line = try #require(lines[start...].first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("pattern: '") })
        let text = line.trimmingCharacters(in: .whitespaces).dropFirst("pattern: '".count).dropLast()
        // JSON Schema patterns are ECMA-262; these use only what ICU reads the same way.
        return try NSRegularExpression(pattern: String(text).replacingOccurrences(of: "''", with: "'"))
    }

    static func matches(_ regex: NSRegularExpression, _ value: String) -> Bool {
        regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
    }

    @Test("ttl: the spec's pattern takes exactly what the server takes under the default 30d maximum")
    func ttl() throws {
        let regex = try Self.pattern(after: "description: Time to live such as 7d")
        let max = 30 * 86_400
        var numbers = Array(0...130).map(String.init) + ["07", "007", "0", "00"]
        for edge in [720, 721, 1_440, 43_199, 43_200, 43_201, 99_999, 2_591_999, 2_592_000, 2_592_001, 9_999_999, 10_000_000] {
            numbers.append(String(edge))
        }
        var checked = 0
        for number in numbers {
            for unit in ["s", "m", "h", "d", "w", ""] {
                let value = number + unit
                let server = (try? TTL.parse(value, max: max)) != nil
                #expect(Self.matches(regex, value) == server, "\(value): spec \(Self.matches(regex, value)), server \(server)")
                checked += 1
            }
        }
        #expect(checked > 800)
    }

    @Test("image references: the spec's pattern takes exactly what the server's parser takes")
    func images() throws {
        let regex = try Self.pattern(after: "    ImagesRequest:")
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let cases = [
            "nginx", "nginx:1.27", "library/nginx", "git.fuq.tv/admin/aiworker-backend:pr-42",
            "git.fuq.tv/admin/aiworker-backend@\(digest)", "git.fuq.tv/a/b:v1@\(digest)", "localhost/x", "localhost:5000/x:y",
            "registry:5000/x", "registry:0/x", "registry:00080/x", "registry:65535/x", "registry:65536/x", "registry:99999/x",
            "a.b/c", "A.B/c", "ABC/c", "abc/c", "a_b.c/d", "a_b/c", "a__b/c", "a___b/c", "a--b/c", "a-/b", "-a/b", "a.b.c/d.e/f_g",
            "x@sha512:" + String(repeating: "b", count: 128), "x@sha384:" + String(repeating: "c", count: 96),
            "x@sha256:" + String(repeating: "A", count: 64), "x@sha256:abc", "x:", "x:-tag", "x:_tag", "x:" + String(repeating: "t", count: 128),
            "x:" + String(repeating: "t", count: 129), "host-.io/x", "h.io:1/x", "h.io:/x", "UPPER", "a/B", "a b", "",
            "a.b:5000/c/d:e@\(digest)", "0/1", "0.0/0_0-9", "a..b/c", "a/.b", "a//b",
        ]
        for value in cases {
            let server = (try? ImageReference(parsing: value)) != nil
            #expect(Self.matches(regex, value) == server, "\(value): spec \(Self.matches(regex, value)), server \(server)")
        }
    }
}

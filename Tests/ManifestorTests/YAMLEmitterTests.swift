import KubeModel
import Testing
import Yams

@Suite("Canonical YAML")
struct YAMLEmitterTests {
    @Test("strings YAML 1.1 would misread are quoted", arguments: [
        "on", "off", "yes", "no", "y", "n", "true", "False", "null", "~", "NULL", "010", "1e3", "0x1F", "1:20", "2026-01-01",
        ".inf", "-1", "+1", "3000", "", " lead", "trail:", "a: b", "#x", "*a", "&a", "!t", "%p", "@x", "`x", "{x}", "[x]", "a,b", "x\ny", "'q'", "\"q\"",
    ])
    func quoted(_ value: String) throws {
        let text = YAMLEmitter.emit(.mapping([("k", .string(value))]))
        #expect(text.hasPrefix("k: \""), "\(text)")
        // And it reads back as the same string.
        let back = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect(back["k"] as? String == value)
    }

    @Test("ordinary values stay plain", arguments: ["nginx", "git.fuq.tv/admin/app@sha256:abc", "/api/health", "preview-task-a1", "a.b/c"])
    func plain(_ value: String) {
        #expect(YAMLEmitter.emit(.mapping([("k", .string(value))])) == "k: \(value)\n")
    }

    @Test("layout: nested mappings, sequences at their key's indentation, empty collections")
    func layout() {
        let node = YAMLNode.mapping([
            ("a", .mapping([("b", .int(1)), ("c", .bool(true))])),
            ("list", .sequence([.mapping([("name", .string("x")), ("v", .sequence([.string("p"), .string("q")]))]), .string("s")])),
            ("empty", .mapping([])),
            ("none", .sequence([])),
        ])
        #expect(YAMLEmitter.emit(node) == """
        a:
          b: 1
          c: true
        list:
        - name: x
          v:
          - p
          - q
        - s
        empty: {}
        none: []

        """)
    }

    @Test("dictionary keys are sorted, long values never fold")
    func sortedAndUnfolded() {
        let long = String(repeating: "x", count: 500)
        let text = YAMLEmitter.emit(.sorted(["b": long, "a": "1", "B": "2"]))
        #expect(text == "B: \"2\"\na: \"1\"\nb: \(long)\n")
    }
}

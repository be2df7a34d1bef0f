import Foundation
import Testing

/// The layering and the size rules of `docs/architecture.md`, checked against `Sources/`.
@Suite("Architecture")
struct ArchitectureTests {
    /// Always allowed, in every target.
    static let everywhere: Set<String> = ["Foundation", "Dispatch"]

    /// The table of `docs/architecture.md`: target → the modules it may import.
    static func allowedImports() throws -> [String: Set<String>] {
        let text = try String(contentsOf: repoRoot().appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        var table: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5 else { continue }
            let target = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let allowed = cells[3] == "—" ? [] : cells[3].split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            }
            table[target] = Set(allowed)
        }
        return table
    }

    static func swiftFiles(under directory: URL) -> [URL] {
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        return (walker?.allObjects as? [URL] ?? []).filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
    }

    /// The modules a file imports (`import X`, `@testable import X`, `import struct X.Y`, ...).
    static func imports(of file: URL) throws -> [String] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").compactMap { line in
            let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ").filter { !$0.hasPrefix("@") }
            guard words.first == "import", words.count >= 2 else { return nil }
            let module = words.count >= 3 && ["struct", "class", "enum", "protocol", "func", "typealias", "var", "let"].contains(String(words[1]))
                ? words[2] : words[1]
            return String(module.split(separator: ".").first ?? module)
        }
    }

    @Test("every target imports only what docs/architecture.md allows it; the git wire format has no C")
    func importGraph() throws {
        let table = try Self.allowedImports()
        let sources = repoRoot().appendingPathComponent("Sources")
        let targets = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(Set(targets) == Set(table.keys), "every target has a row, every row a target")
        var violations: [String] = []
        for target in targets {
            let allowed = (table[target] ?? []).union(Self.everywhere)
            for file in Self.swiftFiles(under: sources.appendingPathComponent(target)) {
                for module in try Self.imports(of: file) where !allowed.contains(module) {
                    violations.append("\(target)/\(file.lastPathComponent) imports \(module)")
                }
            }
        }
        #expect(violations.isEmpty, "\(violations)")
        // The rules the table must keep, whatever it says.
        for c in ["CLibGit2", "Glibc", "Darwin"] { #expect(table["GitWire"]?.contains(c) == false) }
        for front in ["ManifestorServer", "manifestor"] {
            #expect(table[front]?.isDisjoint(with: ["GitStore", "GitWire", "CLibGit2", "HTTPTransport"]) == true)
        }
    }

    @Test("the import graph has no cycle, so every arrow points one way")
    func noCycles() throws {
        let table = try Self.allowedImports()
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        func visit(_ target: String, _ path: [String]) {
            if state[target] == 2 { return }
            if state[target] == 1 { Issue.record("cycle: \((path + [target]).joined(separator: " → "))"); return }
            state[target] = 1
            for next in (table[target] ?? []) where table[next] != nil { visit(next, path + [target]) }
            state[target] = 2
        }
        table.keys.sorted().forEach { visit($0, []) }
    }

    @Test("no file in Sources/ over 300 lines, no top-level type or extension over 250 (named exceptions aside)")
    func sizes() throws {
        let exceptions: Set<String> = ["OpenAPIDocument"]
        var violations: [String] = []
        let declaration = try Regex(#"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|private|fileprivate|final|open|indirect)\s+)*(?:struct|class|enum|actor|extension|protocol)\s+([A-Za-z0-9_.]+)"#)
        for file in Self.swiftFiles(under: repoRoot().appendingPathComponent("Sources")) {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            var open: (name: String, start: Int)?
            var fileExempt = false
            for (index, line) in lines.enumerated() {
                if open == nil, let match = line.firstMatch(of: declaration), !line.hasSuffix("}") {
                    open = (String(match.output[1].substring ?? ""), index)
                } else if let current = open, line.hasPrefix("}") {
                    let length = index - current.start + 1
                    if exceptions.contains(current.name) { fileExempt = true }
                    else if length > 250 { violations.append("\(file.lastPathComponent): \(current.name) has \(length) lines") }
                    open = nil
                }
            }
            if lines.count > 300 && !fileExempt { violations.append("\(file.lastPathComponent) has \(lines.count) lines") }
        }
        #expect(violations.isEmpty, "\(violations)")
    }
}

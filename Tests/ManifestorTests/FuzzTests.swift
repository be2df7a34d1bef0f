import Foundation
import Testing

@Suite("Fuzzing the API from its OpenAPI document", .serialized)
struct FuzzTests {
    /// Schemathesis generates requests from `/openapi.yaml` (examples, coverage, fuzzing and
    /// stateful phases, a bounded number of examples) and runs every check: no 5xx, a documented
    /// status, content type, headers and body schema, schema-valid requests accepted and
    /// schema-violating ones refused (Tests/schemathesis.toml names the operations whose 422
    /// depends on the repository's state), 405 for undeclared methods.
    @Test("schemathesis: zero server errors, zero answers that break the spec")
    func schemathesis() throws {
        let h = try ServerHarness()
        let tokensFile = try h.writeTokensFile()
        let config = try h.remote.config(name: "fuzz", cache: "fuzz-cache", extra: "server: {tokensFile: \(tokensFile.path)}\n").path
        let server = try ServeProcess(config: config, log: h.remote.work.appendingPathComponent("serve.log"))
        defer { kill(server.process.processIdentifier, SIGTERM); _ = server.waitForExit(seconds: 30) }
        let base = "http://127.0.0.1:\(server.port)"
        let examples = ProcessInfo.processInfo.environment["MANIFESTOR_FUZZ_EXAMPLES"] ?? "15"
        let result = try run(repoRoot().appendingPathComponent(".venv/bin/schemathesis").path, [
            "--config-file", repoRoot().appendingPathComponent("Tests/schemathesis.toml").path,
            "run", "\(base)/openapi.yaml", "--url", base,
            "--header", "Authorization: Bearer \(h.tokens["release-manager"]!)",
            "--checks", "all",
            "--max-examples", examples, "--seed", "20261125", "--request-timeout", "60",
        ], env: ["SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"], cwd: h.remote.work, timeout: 900)
        let summary = result.stdout.split(separator: "\n").filter { $0.contains("generated") || $0.contains("failures") || $0.contains("passed") }
        print("schemathesis: \(summary.joined(separator: " | "))")
        #expect(result.status == 0, "\(result.stdout.suffix(12000))\n\(result.stderr.suffix(2000))")
        let log = try String(contentsOf: server.log, encoding: .utf8)
        #expect(!log.contains("status=5"), "the server logged a 5xx")
    }
}

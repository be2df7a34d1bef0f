import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

// Issue "One network layer on libcurl", acceptance 2: a remote that accepts connections and
// never answers, and one that answers one byte a second, cost a write its deadline and no more.
// The documented bound (docs/operations.md): a network exchange gives up after 4 x
// `timeoutSeconds` (connecting after 1 x), so a write fails within 4 x `timeoutSeconds` of the
// exchange that stalled; the tests allow one second more for starting processes.

/// `scripts/stall-proxy.py` in front of the real git server; `mode` decides what it does with
/// each new connection.
final class StallProxy: @unchecked Sendable {
    let dir: URL
    let process = Process()
    let port: Int

    init(targetURL: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("stall-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let target = try #require(URLComponents(string: targetURL)?.port)
        try "pass".write(to: dir.appendingPathComponent("mode"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [repoRoot().appendingPathComponent("scripts/stall-proxy.py").path, dir.path, String(target)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let portFile = dir.appendingPathComponent("port")
        var found: Int?
        for _ in 0..<400 where found == nil {
            if let text = try? String(contentsOf: portFile, encoding: .utf8) { found = Int(text) } else { Thread.sleep(forTimeInterval: 0.025) }
        }
        port = try #require(found, "the stall proxy did not start")
    }

    func set(_ mode: String) throws {
        try mode.write(to: dir.appendingPathComponent("mode"), atomically: true, encoding: .utf8)
    }

    /// `url` (the real server's) pointed at the proxy.
    func rewrite(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.port = port
        return components.string ?? url
    }

    deinit {
        // SIGKILL: the test process blocks SIGTERM, and its children inherit that.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }
}

@Suite("Deadlines: a stalled or slow remote costs a write its deadline", .serialized)
struct DeadlineTests {
    static let timeout = 2

    /// A config of `remote` whose URL goes through `proxy`, with `timeoutSeconds: 2`.
    static func config(_ remote: GitOpsRemote, _ proxy: StallProxy, name: String, extra: String = "") throws -> URL {
        let file = try remote.config(name: name, cache: "\(name)-cache", extra: extra)
        var text = try String(contentsOf: file, encoding: .utf8)
        text = text.replacingOccurrences(of: remote.repoURL, with: proxy.rewrite(remote.repoURL))
            .replacingOccurrences(of: "timeoutSeconds: 5", with: "timeoutSeconds: \(timeout)")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test("the CLI exits 2 with a clear reason within 4 x timeoutSeconds when the remote never answers, or answers a byte a second",
          arguments: ["silent", "trickle"])
    func cliGivesUp(mode: String) throws {
        let remote = try GitOpsRemote()
        let proxy = try StallProxy(targetURL: remote.repoURL)
        let config = try Self.config(remote, proxy, name: "cli-\(mode)")
        try proxy.set(mode)
        let start = Date()
        let result = try remote.manifestor(["deploy-preview", "st1", "--image", "backend=git.fuq.tv/admin/aiworker-backend:v1",
                                            "--config", config.path], timeout: 60)
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("timed out"), "\(result.stderr)")
        #expect(!result.stderr.contains(remote.server.password), "the token is never printed")
        #expect(elapsed < Double(4 * Self.timeout + 2), "gave up after \(elapsed) s")
    }

    @Test("the server answers a write 503 with Retry-After within the bound while /healthz answers at once; the next write works once the remote is back")
    func serverGivesUpAndRecovers() async throws {
        let h = try ServerHarness()
        let proxy = try StallProxy(targetURL: h.remote.repoURL)
        let tokensFile = try h.writeTokensFile()
        try proxy.set("silent")
        let config = try Self.config(h.remote, proxy, name: "served", extra: "server: {tokensFile: \(tokensFile.path)}\n")
        let serve = try ServeProcess(config: config.path, log: h.remote.work.appendingPathComponent("served.log"))
        defer {
            kill(serve.process.processIdentifier, SIGTERM)
            _ = serve.waitForExit(seconds: 60)
        }
        let deployer = h.tokens["deployer"]!
        let body = #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:v1"}}"#
        let start = Date()
        async let stalled = serve.api.send("POST", "/api/tasks/dl1/deploy-preview", token: deployer, json: body)
        async let queued = serve.api.send("POST", "/api/tasks/dl2/deploy-preview", token: deployer, json: body)
        // Meanwhile the liveness probe answers at once, each time.
        var health: [TimeInterval] = []
        for _ in 0..<3 {
            let asked = Date()
            let answer = try await serve.api.send("GET", "/healthz")
            #expect(answer.status == 200)
            health.append(Date().timeIntervalSince(asked))
        }
        let (first, second) = try await (stalled, queued)
        let elapsed = Date().timeIntervalSince(start)
        print("deadline test: both writes answered after \(elapsed) s; /healthz took \(health)")
        for answer in [first, second] {
            #expect(answer.status == 503, "\(String(decoding: answer.data, as: UTF8.self))")
            #expect(answer.headers["retry-after"] != nil)
        }
        #expect(elapsed < Double(4 * Self.timeout + 2), "answered after \(elapsed) s")
        #expect(health.allSatisfy { $0 < 1 }, "healthz took \(health)")
        #expect(!((try? h.remote.git(["ls-tree", "-d", "--name-only", "main:preview"])) ?? "").contains("task-dl"), "nothing was committed")

        try proxy.set("pass")
        let again = try await serve.api.send("POST", "/api/tasks/dl1/deploy-preview", token: deployer, json: body)
        #expect(again.status == 201, "\(String(decoding: again.data, as: UTF8.self))")
        #expect(((try? h.remote.git(["ls-tree", "-d", "--name-only", "main:preview"])) ?? "").contains("task-dl1"))
    }
}

import Foundation
import Testing

/// One `manifestor serve` process on the real git server (lighttpd + git http-backend), for
/// examples/ run with `node` as a backend would run it.
final class ClientWorld: @unchecked Sendable {
    let h: ServerHarness
    let serve: ServeProcess

    init() throws {
        h = try ServerHarness()
        let tokensFile = try h.writeTokensFile()
        let config = try h.remote.config(name: "serve", cache: "serve-cache", extra: "server: {tokensFile: \(tokensFile.path)}\n")
        serve = try ServeProcess(config: config.path, log: h.remote.work.appendingPathComponent("serve.log"))
    }

    var url: String { "http://127.0.0.1:\(serve.port)" }
    var deployer: String { h.tokens["deployer"]! }
    var remote: GitOpsRemote { h.remote }

    func stop() {
        kill(serve.process.processIdentifier, SIGTERM)
        #expect(serve.waitForExit(seconds: 60) == 0)
    }

    /// Preview directories on the remote at `commit`.
    func previews(at commit: String) throws -> [String] {
        let text = (try? remote.git(["ls-tree", "-d", "--name-only", "\(commit):preview"])) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// The sum of manifestor_http_requests_total over the lines that contain every one of `labels`.
    func requestCount(_ labels: [String]) async throws -> Int {
        let text = String(decoding: try await serve.api.send("GET", "/metrics").data, as: UTF8.self)
        return text.split(separator: "\n")
            .filter { line in line.hasPrefix("manifestor_http_requests_total{") && labels.allSatisfy { line.contains($0) } }
            .compactMap { Int($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }
}

/// `node`, found on PATH and at least version 18 (built-in fetch); fails clearly otherwise.
enum Node {
    static func path() throws -> String {
        let which = try run("/bin/sh", ["-c", "command -v node"], timeout: 30)
        let path = which.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard which.status == 0, !path.isEmpty else {
            throw FixtureError("node is not installed: scripts/setup.sh installs Debian's nodejs, which examples/ and these tests need")
        }
        let version = try runChecked(path, ["--version"], timeout: 30)
        let major = Int(version.dropFirst().prefix { $0.isNumber }) ?? 0
        guard major >= 18 else { throw FixtureError("node \(version) is older than 18: examples/ need its built-in fetch") }
        return path
    }

    static var examples: URL { repoRoot().appendingPathComponent("examples") }

    /// The JSON objects among `text`'s lines (node may print other warnings on stderr).
    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}

/// `node` running in the background with its output in files, so a test can watch it.
final class NodeProcess: @unchecked Sendable {
    let process = Process()
    let stdoutURL: URL, stderrURL: URL

    init(_ args: [String], env: [String: String], in dir: URL) throws {
        stdoutURL = dir.appendingPathComponent("node-\(UUID().uuidString).out")
        stderrURL = dir.appendingPathComponent("node-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: try Node.path())
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.currentDirectoryURL = repoRoot()
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try withTerminationSignalsUnblocked { try process.run() }
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Polls (bounded) until `condition` holds or the process has exited; true if it held.
    func waitUntil(seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    /// Waits (bounded) for the exit and returns its status; kills it and fails past `seconds`.
    func exitStatus(seconds: Double) async throws -> Int32 {
        _ = try await waitUntil(seconds: seconds) { !process.isRunning }
        if process.isRunning {
            process.terminate()
            throw FixtureError("node still running after \(Int(seconds)) s:\n\(stdout)\n\(stderr)")
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}

@Suite("The example client in examples/, run with node against manifestor serve", .serialized)
struct ExampleClientTests {
    static func demoEnv(_ w: ClientWorld, task: String) -> [String: String] {
        ["MANIFESTOR_URL": w.url, "MANIFESTOR_TOKEN": w.deployer, "MANIFESTOR_TASK_ID": task]
    }

    /// demo.mjs's step lines, checked against the remote: the preview appeared in the deploy's
    /// commit and the delete's commit, on top of it, is main's tip without it.
    static func checkDemo(_ stdout: String, task: String, on w: ClientWorld) throws -> [String: [String: Any]] {
        let lines = Node.lines(stdout)
        #expect(lines.map { $0["step"] as? String } == ["deploy", "get", "delete", "get-after-delete"], "\(stdout)")
        #expect(lines.allSatisfy { $0["ok"] as? Bool == true }, "\(stdout)")
        let steps = Dictionary(lines.map { ($0["step"] as? String ?? "", $0) }) { a, _ in a }
        let deploy = try #require(steps["deploy"]), delete = try #require(steps["delete"])
        #expect(deploy["changed"] as? Bool == true)
        #expect(deploy["namespace"] as? String == "preview-task-\(task)")
        let deployed = try #require(deploy["commit"] as? String)
        let deleted = try #require(delete["commit"] as? String)
        #expect(try w.previews(at: deployed).contains("task-\(task)"), "the deploy's commit has preview/task-\(task)/")
        #expect(try w.remote.git(["rev-parse", "\(deleted)^"]).trimmingCharacters(in: .whitespacesAndNewlines) == deployed)
        #expect(w.remote.tip == deleted)
        #expect(try w.previews(at: "main").contains("task-\(task)") == false, "main has no preview/task-\(task)/ any more")
        let subjects = try w.remote.git(["log", "--format=%s", "-2", "main"])
        #expect(subjects.split(separator: "\n").allSatisfy { $0.contains("preview(task-\(task))") }, "\(subjects)")
        #expect((steps["get"]?["images"] as? [String: String])?["backend"] == "git.fuq.tv/admin/aiworker-backend:demo")
        return steps
    }

    @Test("demo.mjs deploys, reads and deletes a preview: one commit each way on the remote, exit 0, no token printed")
    func demoAgainstLiveServer() async throws {
        let w = try ClientWorld()
        defer { w.stop() }
        let result = try run(try Node.path(), [Node.examples.appendingPathComponent("demo.mjs").path],
                             env: Self.demoEnv(w, task: "client-demo"), timeout: 180)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        _ = try Self.checkDemo(result.stdout, task: "client-demo", on: w)
        #expect(!(result.stdout + result.stderr).contains(w.deployer), "the token was printed")
        #expect(Node.lines(result.stderr).isEmpty, "no retries against a healthy server: \(result.stderr)")

        // Without the environment it says so and exits 2, without touching the server.
        let bare = try run(try Node.path(), [Node.examples.appendingPathComponent("demo.mjs").path],
                           env: ["MANIFESTOR_URL": "", "MANIFESTOR_TOKEN": ""], timeout: 60)
        #expect(bare.status == 2, "\(bare.stdout)\n\(bare.stderr)")
    }

    @Test("git server down: manifestor answers 503 with Retry-After, the client waits that long, retries and succeeds")
    func retriesAfter503() async throws {
        let w = try ClientWorld()
        defer { w.stop() }
        w.remote.server.stop()
        let node = try NodeProcess([Node.examples.appendingPathComponent("demo.mjs").path],
                                   env: Self.demoEnv(w, task: "client-503"), in: w.remote.work)
        // The first retry event: the client got a 503 and is waiting. Only then is git back.
        let waiting = try await node.waitUntil(seconds: 120) {
            Node.lines(node.stderr).contains { $0["step"] as? String == "retry" && $0["status"] as? Int == 503 }
        }
        try #require(waiting, "no retry after a 503:\n\(node.stdout)\n\(node.stderr)")
        try w.remote.server.restart()
        let status = try await node.exitStatus(seconds: 180)
        #expect(status == 0, "\(node.stdout)\n\(node.stderr)")

        let steps = try Self.checkDemo(node.stdout, task: "client-503", on: w)
        let retries = Node.lines(node.stderr).filter { $0["step"] as? String == "retry" }
        #expect(!retries.isEmpty && retries.count < 5, "bounded: \(retries)")
        for retry in retries {
            #expect(retry["status"] as? Int == 503)
            #expect(retry["code"] as? String != nil)
            let after = try #require(retry["retryAfterSeconds"] as? Int, "\(retry)")
            #expect(after > 0)
            #expect((retry["delayMs"] as? Int ?? 0) >= after * 1000, "the wait honours Retry-After: \(retry)")
        }
        // The deploy step lasted at least the first Retry-After: the client really waited.
        let firstAfter = retries.first?["retryAfterSeconds"] as? Int ?? 0
        #expect((steps["deploy"]?["ms"] as? Int ?? 0) >= firstAfter * 1000, "\(steps["deploy"] ?? [:])")
        // The server saw the 503s and exactly one deploy that committed.
        let route = #"route="/api/tasks/{id}/deploy-preview""#
        #expect(try await w.requestCount([route, #"status="503""#]) == retries.count)
        #expect(try await w.requestCount([route, #"status="201""#]) == 1)
        #expect(!(node.stdout + node.stderr).contains(w.deployer), "the token was printed")
    }

    /// Calls the client from an inline module and prints, per call, what it threw.
    static let probe = #"""
    import { pathToFileURL } from "node:url";
    const { ManifestorClient } = await import(pathToFileURL(process.env.CLIENT).href);
    const calls = {
      unknownService: (c) => c.deployPreview("client-4xx", { images: { nosuch: "git.fuq.tv/admin/aiworker-nosuch:v1" } }),
      badTaskId: (c) => c.getPreview("../x"),
      badTaskIdDelete: (c) => c.deletePreview("../x"),
      wrongToken: (c) => c.deployPreview("client-4xx", { images: { backend: "git.fuq.tv/admin/aiworker-backend:v1" } }),
    };
    for (const [name, call] of Object.entries(calls)) {
      let retries = 0;
      const token = name === "wrongToken" ? "not-a-token" : process.env.TOKEN;
      const client = new ManifestorClient({ baseUrl: process.env.URL, token, onRetry: () => { retries += 1; } });
      try {
        const answer = await call(client);
        console.log(JSON.stringify({ name, threw: false, answer }));
      } catch (e) {
        console.log(JSON.stringify({ name, threw: true, status: e.status, code: e.code, attempts: e.attempts, retries,
                                     isError: e instanceof Error, message: e.message }));
      }
    }
    """#

    @Test("a 4xx is thrown with status, code and message after exactly one request, never retried")
    func clientErrorsAreNotRetried() async throws {
        let w = try ClientWorld()
        defer { w.stop() }
        let before = try await w.requestCount(["route=\"/api/"])
        let result = try run(try Node.path(), ["--input-type=module", "-e", Self.probe],
                             env: ["CLIENT": Node.examples.appendingPathComponent("manifestor-client.mjs").path,
                                   "URL": w.url, "TOKEN": w.deployer], timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let lines = Dictionary(Node.lines(result.stdout).map { ($0["name"] as? String ?? "", $0) }) { a, _ in a }
        #expect(lines.count == 4, "\(result.stdout)")
        let expected: [String: (Int, String)] = [
            "unknownService": (422, "unknown_service"), "badTaskId": (400, "invalid_task_id"),
            "badTaskIdDelete": (400, "invalid_task_id"), "wrongToken": (401, "unauthorized"),
        ]
        for (name, (status, code)) in expected {
            let line = try #require(lines[name], "\(name): \(result.stdout)")
            #expect(line["threw"] as? Bool == true, "\(name): \(line)")
            #expect(line["isError"] as? Bool == true)
            #expect(line["status"] as? Int == status, "\(name): \(line)")
            #expect(line["code"] as? String == code, "\(name): \(line)")
            #expect((line["message"] as? String ?? "").contains(code), "\(name): \(line)")
            #expect(line["attempts"] as? Int == 1, "\(name): \(line)")
            #expect(line["retries"] as? Int == 0, "\(name): \(line)")
        }
        // The server side: one request per call, and nothing was committed.
        let after = try await w.requestCount(["route=\"/api/"])
        #expect(after - before == expected.count, "requests seen by the server: \(after - before)")
        #expect(try w.previews(at: "main").contains("task-client-4xx") == false)
        #expect(!(result.stdout + result.stderr).contains(w.deployer), "the token was printed")
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Two `manifestor serve` replicas and a CLI writer on one remote, with mixed operations at
/// random concurrency; afterwards the remote must say exactly what the acknowledged
/// operations say. MANIFESTOR_SOAK_OPS sets the number of operations (default: a bounded 120).
@Suite("Many writers", .serialized)
struct ManyWritersTests {
    enum Writer: Sendable { case serverA, serverB, cli }
    enum Outcome: Sendable, Equatable { case deployed(String), deleted }

    @Test("two servers and a CLI, mixed operations: no acknowledged operation is missing")
    func manyWriters() async throws {
        let operations = Int(ProcessInfo.processInfo.environment["MANIFESTOR_SOAK_OPS"] ?? "") ?? 120
        let h = try ServerHarness()
        let tokensFile = h.remote.work.appendingPathComponent("tokens.yaml")
        try ("tokens:\n" + h.store.entries.map { "  - {name: \($0.name), role: \($0.role.rawValue), sha256: \($0.sha256)}" }.joined(separator: "\n") + "\n")
            .write(to: tokensFile, atomically: true, encoding: .utf8)
        let extra = "server: {tokensFile: \(tokensFile.path)}\n"
        let a = try ServeProcess(config: try h.remote.config(name: "a", cache: "cache-a", extra: extra).path, log: h.remote.work.appendingPathComponent("a.log"))
        let b = try ServeProcess(config: try h.remote.config(name: "b", cache: "cache-b", extra: extra).path, log: h.remote.work.appendingPathComponent("b.log"))
        let cliConfig = try h.remote.config(name: "cli", cache: "cache-cli").path
        let deployer = h.tokens["deployer"]!
        let apiA = a.api, apiB = b.api, remote = h.remote

        // Each task's operations run in order on one writer; tasks run concurrently.
        let taskCount = max(6, operations / 5)
        var plans: [(String, Writer, [Int])] = []  // version > 0 deploys that version, 0 deletes
        var generator = SystemRandomNumberGenerator()
        var remaining = operations - 10  // 10 staging deploys
        for i in 0..<taskCount {
            let writer: Writer = [.serverA, .serverB, .cli][i % 3]
            let length = i == taskCount - 1 ? max(1, remaining) : min(remaining, Int.random(in: 2...7, using: &generator))
            remaining -= length
            let ops = (0..<length).map { _ in Int.random(in: 0..<4, using: &generator) == 0 ? 0 : Int.random(in: 1...3, using: &generator) }
            plans.append(("mw-\(i)", writer, ops))
            if remaining <= 0 { break }
        }

        func deploy(_ writer: Writer, _ task: String, _ version: Int) async throws -> Bool {
            let image = "git.fuq.tv/admin/aiworker-backend:v\(version)"
            switch writer {
            case .cli:
                let r = try remote.manifestor(["deploy-preview", task, "--image", "backend=\(image)", "--config", cliConfig], timeout: 240)
                return r.status == 0
            case .serverA, .serverB:
                let api = writer == .serverA ? apiA : apiB
                let answer = try await api.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer, json: #"{"images": {"backend": "\#(image)"}}"#)
                return answer.status == 200 || answer.status == 201
            }
        }

        func delete(_ writer: Writer, _ task: String) async throws -> Bool {
            switch writer {
            case .cli:
                let r = try remote.manifestor(["delete-preview", task, "--config", cliConfig], timeout: 240)
                return r.status == 0 || r.stderr.contains("no preview")
            case .serverA, .serverB:
                let api = writer == .serverA ? apiA : apiB
                let answer = try await api.send("DELETE", "/api/tasks/\(task)/preview", token: deployer)
                return answer.status == 200 || answer.status == 404
            }
        }

        let results = try await withThrowingTaskGroup(of: (String, Outcome?, Int).self) { group in
            for (task, writer, ops) in plans {
                group.addTask {
                    var last: Outcome?
                    var failures = 0
                    for version in ops {
                        let acknowledged = version == 0 ? try await delete(writer, task) : try await deploy(writer, task, version)
                        if acknowledged { last = version == 0 ? .deleted : .deployed("v\(version)") } else { failures += 1 }
                    }
                    return (task, last, failures)
                }
            }
            group.addTask {
                // Staging deploys alternate between the replicas, in order.
                var last: Outcome?
                var failures = 0
                for i in 0..<10 {
                    let api = i % 2 == 0 ? apiA : apiB
                    let answer = try await api.send("POST", "/api/environments/staging/deploy", token: deployer,
                                                    json: #"{"images": {"frontend": "git.fuq.tv/admin/aiworker-frontend:s\#(i)"}}"#)
                    if answer.status == 200 || answer.status == 201 { last = .deployed("s\(i)") } else { failures += 1 }
                }
                return ("staging", last, failures)
            }
            var out: [(String, Outcome?, Int)] = []
            for try await r in group { out.append(r) }
            return out
        }
        kill(a.process.processIdentifier, SIGTERM)
        kill(b.process.processIdentifier, SIGTERM)
        #expect(a.waitForExit(seconds: 60) == 0)
        #expect(b.waitForExit(seconds: 60) == 0)

        for (task, _, failures) in results { #expect(failures == 0, "\(task): \(failures) operations were not acknowledged") }
        let tree = Set(try remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).split(separator: "\n").map(String.init))
        for (task, outcome, _) in results where task != "staging" {
            switch outcome {
            case .deployed(let version):
                #expect(tree.contains("task-\(task)"), "\(task) should exist")
                let deployment = try remote.git(["show", "main:preview/task-\(task)/deployment-backend.yaml"])
                #expect(deployment.contains("aiworker-backend:\(version)"), "\(task) should run \(version)")
            case .deleted, nil:
                #expect(!tree.contains("task-\(task)"), "\(task) should be gone")
            }
        }
        if case .deployed(let version)? = results.first(where: { $0.0 == "staging" })?.1 {
            #expect(try remote.git(["show", "main:staging/deployment-frontend.yaml"]).contains("aiworker-frontend:\(version)"))
        } else {
            Issue.record("no staging deploy was acknowledged")
        }
        #expect(try remote.git(["rev-list", "--merges", "main"]).isEmpty)
        let fsck = try run("git", ["--git-dir", remote.server.bareRepoPath(remote.repoName).path, "fsck", "--strict"], env: remote.server.gitEnvironment)
        #expect(fsck.status == 0)
        print("many writers: \(operations) operations over \(plans.count) tasks; \(try remote.git(["rev-list", "--count", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)) commits")
    }
}

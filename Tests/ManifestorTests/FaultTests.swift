import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GitOps
import GitStore
import GitWire
import Testing

@Suite("Faults", .serialized)
struct FaultTests {
    @Test("the git server stopped in a burst: 503 with Retry-After meanwhile, recovery once it is back, no restart")
    func gitServerDown() async throws {
        let h = try ServerHarness()
        let deployer = h.tokens["deployer"]!
        try await h.withServer { api, _ in
            let first = try await api.send("POST", "/api/tasks/up-1/deploy-preview", token: deployer, json: ServerTests.deployBody)
            #expect(first.status == 201)
            try h.remote.server.stop()
            let answers = try await withThrowingTaskGroup(of: APIClient.Answer.self) { group in
                for i in 0..<10 {
                    group.addTask { try await api.send("POST", "/api/tasks/down-\(i)/deploy-preview", token: deployer, json: ServerTests.deployBody) }
                }
                var out: [APIClient.Answer] = []
                for try await a in group { out.append(a) }
                return out
            }
            for answer in answers {
                #expect(answer.status == 503, "\(String(decoding: answer.data, as: UTF8.self))")
                #expect(Int(answer.headers["retry-after"] ?? "") ?? 0 > 0)
                #expect(answer.errorCode != nil)
            }
            let read = try await api.send("GET", "/api/previews", token: deployer)
            #expect(read.status == 503)
            try h.remote.server.restart()
            let back = try await api.send("POST", "/api/tasks/down-0/deploy-preview", token: deployer, json: ServerTests.deployBody)
            #expect(back.status == 201, "\(String(decoding: back.data, as: UTF8.self))")
        }
        let dirs = try h.remote.git(["ls-tree", "-d", "--name-only", "main:preview"])
        #expect(dirs.contains("task-up-1") && dirs.contains("task-down-0"))
        #expect(!dirs.contains("task-down-1"), "nothing was committed while the server was down")
    }

    @Test("SIGKILL in the middle of a batch: the remote stays consistent, retried requests converge, the cache repairs itself")
    func killedMidBatch() async throws {
        let h = try ServerHarness()
        let deployer = h.tokens["deployer"]!
        let tokensFile = try h.writeTokensFile()
        let config = try h.remote.config(name: "serve", cache: "serve-cache", extra: "server: {tokensFile: \(tokensFile.path)}\n").path
        let tasks = (0..<40).map { "kill-\($0)" }

        let first = try ServeProcess(config: config, log: h.remote.work.appendingPathComponent("serve-1.log"))
        let api1 = first.api
        _ = try await withThrowingTaskGroup(of: Void.self) { group in
            for task in tasks {
                group.addTask { _ = try? await api1.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer, json: ServerTests.deployBody) }
            }
            // Kill as soon as the first commit of the burst is on the remote.
            let before = h.remote.tip
            for _ in 0..<600 where h.remote.tip == before { try await Task.sleep(for: .milliseconds(10)) }
            kill(first.process.processIdentifier, SIGKILL)
            try await group.waitForAll()
        }
        #expect(first.waitForExit(seconds: 30) != nil)
        let fsck = try run("git", ["--git-dir", h.remote.server.bareRepoPath(h.remote.repoName).path, "fsck", "--strict"], env: h.remote.server.gitEnvironment)
        #expect(fsck.status == 0, "\(fsck.stderr)")

        // Restart on the same cache and retry every request: each converges.
        let second = try ServeProcess(config: config, log: h.remote.work.appendingPathComponent("serve-2.log"))
        let api2 = second.api
        for task in tasks {
            let answer = try await api2.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer, json: ServerTests.deployBody)
            #expect(answer.status == 200 || answer.status == 201, "\(task): \(String(decoding: answer.data, as: UTF8.self))")
            let again = try await api2.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer, json: ServerTests.deployBody)
            #expect(again.status == 200 && again.json?["changed"] as? Bool == false, "\(task) converged")
        }
        kill(second.process.processIdentifier, SIGTERM)
        #expect(second.waitForExit(seconds: 30) == 0)
        let dirs = Set(try h.remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).split(separator: "\n").map(String.init))
        #expect(dirs == Set(tasks.map { "task-\($0)" }))
    }

    @Test("the remote branch force-pushed to an older commit: Manifestor re-reads it and goes on from there")
    func forcePushedBack() async throws {
        let remote = try GitOpsRemote()
        let committer = try remote.committer(cache: remote.work.appendingPathComponent("cache"))
        _ = try await committer.submit(try SeedRepository(skeleton: repoRoot().appendingPathComponent("gitops-skeleton")))
        let a = try await committer.submit(DeployPreview(taskID: "a", images: ["backend": "git.fuq.tv/admin/aiworker-backend:1"]))
        let b = try await committer.submit(DeployPreview(taskID: "b", images: ["backend": "git.fuq.tv/admin/aiworker-backend:1"]))
        // Someone with access to the server resets main to the older commit.
        _ = try remote.git(["update-ref", "refs/heads/main", a.commit!.hex])

        let c = try await committer.submit(DeployPreview(taskID: "c", images: ["backend": "git.fuq.tv/admin/aiworker-backend:1"]))
        let tip = try #require(remote.tip)
        #expect(tip == c.commit?.hex)
        let parent = try remote.git(["rev-parse", "\(tip)^"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(parent == a.commit?.hex, "the new commit builds on what the remote says, not on the cache")
        let dirs = try remote.git(["ls-tree", "-d", "--name-only", "main:preview"])
        #expect(dirs.contains("task-a") && dirs.contains("task-c"))
        #expect(!dirs.contains("task-b"), "the reset is respected: b's commit \(b.commit!.short) is not resurrected")
    }
}

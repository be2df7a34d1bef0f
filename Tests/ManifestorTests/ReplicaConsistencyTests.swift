import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GitOps
import GitStore
import GitWire
import Templates
import Testing

/// Two `manifestor serve` replicas with their own caches on one remote, and a CLI with a third
/// cache, as `deploy/` runs them behind one Service.
final class Replicas: @unchecked Sendable {
    let h: ServerHarness
    let a: ServeProcess
    let b: ServeProcess
    let cliConfig: String

    init() throws {
        h = try ServerHarness()
        let tokensFile = try h.writeTokensFile()
        let extra = "server: {tokensFile: \(tokensFile.path)}\n"
        a = try ServeProcess(config: try h.remote.config(name: "a", cache: "cache-a", extra: extra).path, log: h.remote.work.appendingPathComponent("a.log"))
        b = try ServeProcess(config: try h.remote.config(name: "b", cache: "cache-b", extra: extra).path, log: h.remote.work.appendingPathComponent("b.log"))
        cliConfig = try h.remote.config(name: "cli", cache: "cache-cli").path
    }

    var remote: GitOpsRemote { h.remote }
    var deployer: String { h.tokens["deployer"]! }
    var releaseManager: String { h.tokens["release-manager"]! }

    /// Stops both servers with SIGTERM; both must exit cleanly.
    func stop() {
        kill(a.process.processIdentifier, SIGTERM)
        kill(b.process.processIdentifier, SIGTERM)
        #expect(a.waitForExit(seconds: 60) == 0)
        #expect(b.waitForExit(seconds: 60) == 0)
    }

    /// The file at `path` on the remote's main, or nil when it does not exist.
    func remoteFile(_ path: String) -> String? { try? remote.git(["show", "main:\(path)"]) }

    func cli(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try remote.manifestor(args + ["--config", cliConfig], timeout: 240)
    }
}

/// Every answer a write gives without pushing is decided on the remote's current tip, not on
/// the replica's cached one (issue: an acknowledged deploy is lost when two replicas serve one task).
@Suite("Replicas answer no-ops from the remote's tip", .serialized)
struct ReplicaConsistencyTests {
    static func backend(_ tag: String) -> String { #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:\#(tag)"}}"# }
    static func digest(_ service: String, _ fill: Character) -> String {
        "git.fuq.tv/admin/aiworker-\(service)@sha256:\(String(repeating: fill, count: 64))"
    }
    static func pinned(_ fill: Character) -> String {
        #"{"images": {"backend": "\#(digest("backend", fill))", "frontend": "\#(digest("frontend", fill))"}}"#
    }

    @Test("X through B, Y through A, X again through B: the third answer is a change and the remote runs X")
    func redeployOnStaleReplica() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let first = try await r.b.api.send("POST", "/api/tasks/st0/deploy-preview", token: r.deployer, json: Self.backend("x"))
        #expect(first.status == 201)
        let second = try await r.a.api.send("POST", "/api/tasks/st0/deploy-preview", token: r.deployer, json: Self.backend("y"))
        #expect(second.status == 201)
        #expect(r.remoteFile("preview/task-st0/deployment-backend.yaml")?.contains("aiworker-backend:y") == true)

        let third = try await r.b.api.send("POST", "/api/tasks/st0/deploy-preview", token: r.deployer, json: Self.backend("x"))
        #expect(third.status == 201, "\(String(decoding: third.data, as: UTF8.self))")
        #expect(third.json?["changed"] as? Bool == true)
        #expect(third.json?["commit"] as? String == r.remote.tip)
        #expect(r.remoteFile("preview/task-st0/deployment-backend.yaml")?.contains("aiworker-backend:x") == true)

        // A true no-op, on either replica, stays one: 200, no commit.
        let tip = r.remote.tip
        for api in [r.a.api, r.b.api] {
            let again = try await api.send("POST", "/api/tasks/st0/deploy-preview", token: r.deployer, json: Self.backend("x"))
            #expect(again.status == 200)
            #expect(again.json?["changed"] as? Bool == false)
            #expect(again.json?["commit"] as? String == tip)
        }
        #expect(r.remote.tip == tip)
    }

    @Test("the same story with the CLI and its own cache as the stale writer")
    func redeployFromStaleCLI() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let first = try r.cli(["deploy-preview", "st1", "--image", "backend=git.fuq.tv/admin/aiworker-backend:x"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await r.a.api.send("POST", "/api/tasks/st1/deploy-preview", token: r.deployer, json: Self.backend("y"))
        #expect(second.status == 201)
        let third = try r.cli(["deploy-preview", "st1", "--image", "backend=git.fuq.tv/admin/aiworker-backend:x", "--json"])
        #expect(third.status == 0, "\(third.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(third.stdout.utf8)) as? [String: Any])
        #expect(json["changed"] as? Bool == true)
        #expect(r.remoteFile("preview/task-st1/deployment-backend.yaml")?.contains("aiworker-backend:x") == true)

        // gc: nothing has expired at `now` on the CLI's tip; the remote has st2, deployed
        // through A with a TTL of one hour, which has expired by then (st1 has not).
        let now = RFC3339.format(Date().addingTimeInterval(2 * 3600))
        let warm = try r.cli(["gc", "--now", now])
        #expect(warm.status == 0, "\(warm.stderr)")
        #expect(warm.stdout.hasPrefix("unchanged"), "\(warm.stdout)")
        let deployed = try await r.a.api.send("POST", "/api/tasks/st2/deploy-preview", token: r.deployer,
                                              json: #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:z"}, "ttl": "1h"}"#)
        #expect(deployed.status == 201)
        let gc = try r.cli(["gc", "--now", now])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.stdout.contains("gc: remove 1 expired preview (task-st2)"), "\(gc.stdout)")
        #expect(r.remoteFile("preview/task-st2/namespace-preview-task-st2.yaml") == nil)
        #expect(r.remoteFile("preview/task-st1/namespace-preview-task-st1.yaml") != nil)
    }

    @Test("deploy through A, delete through B: 200 and the directory is gone")
    func deleteOnStaleReplica() async throws {
        let r = try Replicas()
        defer { r.stop() }
        // B's cache is warm at a tip without the preview.
        #expect(try await r.b.api.send("POST", "/api/tasks/warm/deploy-preview", token: r.deployer, json: Self.backend("w")).status == 201)
        #expect(try await r.a.api.send("POST", "/api/tasks/del0/deploy-preview", token: r.deployer, json: Self.backend("y")).status == 201)
        let deleted = try await r.b.api.send("DELETE", "/api/tasks/del0/preview", token: r.deployer)
        #expect(deleted.status == 200, "\(String(decoding: deleted.data, as: UTF8.self))")
        #expect(deleted.json?["commit"] as? String == r.remote.tip)
        #expect(r.remoteFile("preview/task-del0/namespace-preview-task-del0.yaml") == nil)
        #expect(r.remoteFile("preview/task-warm/namespace-preview-task-warm.yaml") != nil)

        // And a preview that is gone on the remote is 404 on both.
        for api in [r.a.api, r.b.api] {
            let again = try await api.send("DELETE", "/api/tasks/del0/preview", token: r.deployer)
            #expect(again.status == 404)
            #expect(again.errorCode == "preview_not_found")
        }
    }

    @Test("staging deploy, promotion and rollback that are no-ops on B's stale tip are applied when the remote differs")
    func environmentsOnStaleReplica() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let stagingFrontend = "staging/aiworker/deployment-frontend.yaml", productionBackend = "production/aiworker/deployment-backend.yaml"

        // Staging: s1 through B, s2 through A, s1 again through B.
        #expect(try await r.b.api.send("POST", "/api/environments/staging/deploy", token: r.deployer, json: Self.pinned("1")).status == 201)
        #expect(try await r.a.api.send("POST", "/api/environments/staging/deploy", token: r.deployer, json: Self.pinned("2")).status == 201)
        let staged = try await r.b.api.send("POST", "/api/environments/staging/deploy", token: r.deployer, json: Self.pinned("1"))
        #expect(staged.status == 201, "\(String(decoding: staged.data, as: UTF8.self))")
        #expect(staged.json?["changed"] as? Bool == true)
        #expect(r.remoteFile(stagingFrontend)?.contains(Self.digest("frontend", "1")) == true)

        // Promotion: B promotes staging (1); A stages 2; B's tip says staging and production
        // agree, the remote's does not.
        let promoted = try await r.b.api.send("POST", "/api/promote", token: r.releaseManager, json: #"{"from": "staging", "to": "production"}"#)
        #expect(promoted.status == 201, "\(String(decoding: promoted.data, as: UTF8.self))")
        let firstRelease = try #require(promoted.json?["commit"] as? String)
        #expect(try await r.a.api.send("POST", "/api/environments/staging/deploy", token: r.deployer, json: Self.pinned("2")).status == 201)
        let again = try await r.b.api.send("POST", "/api/promote", token: r.releaseManager, json: #"{"from": "staging", "to": "production"}"#)
        #expect(again.status == 201, "\(String(decoding: again.data, as: UTF8.self))")
        #expect(again.json?["changed"] as? Bool == true)
        #expect(r.remoteFile(productionBackend)?.contains(Self.digest("backend", "2")) == true)

        // Rollback: B promotes (production 2, B's tip); A rolls production back to release 1
        // and stages 3 and promotes it; B's rollback to release 1 is a no-op on its tip only.
        #expect(try await r.a.api.send("POST", "/api/environments/staging/deploy", token: r.deployer, json: Self.pinned("3")).status == 201)
        #expect(try await r.a.api.send("POST", "/api/promote", token: r.releaseManager, json: #"{"from": "staging", "to": "production"}"#).status == 201)
        #expect(r.remoteFile(productionBackend)?.contains(Self.digest("backend", "3")) == true)
        let rolled = try await r.b.api.send("POST", "/api/environments/production/rollback", token: r.releaseManager, json: #"{"to": "\#(firstRelease)"}"#)
        #expect(rolled.status == 201, "\(String(decoding: rolled.data, as: UTF8.self))")
        #expect(rolled.json?["changed"] as? Bool == true)
        #expect(r.remoteFile(productionBackend)?.contains(Self.digest("backend", "1")) == true)
    }

    @Test("a no-op answer costs one look at the remote's advertisement: no fetch, no push")
    func noOpCostsOneRoundTrip() async throws {
        let remote = try GitOpsRemote()
        #expect(try remote.manifestor(["init", "--config", remote.config().path]).status == 0)
        let cache = remote.work.appendingPathComponent("committer-cache")
        let metrics = CountingMetrics()
        let committer = try remote.committer(cache: cache, metrics: metrics)
        let deploy = GitOps.DeployPreview(taskID: "noop", images: ["backend": "git.fuq.tv/admin/aiworker-backend:v1"])
        #expect(try await committer.submit(deploy).changed)

        let requestsBefore = try remote.server.requests().count
        let fetchesBefore = metrics["fetches"], batchesBefore = metrics["batches"]
        // Three identical re-deploys at once: one batch, one confirmation.
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<3 { group.addTask { try await committer.submit(deploy).changed } }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes == [false, false, false])
        let requests = Array(try remote.server.requests().dropFirst(requestsBefore))
        #expect(metrics["fetches"] == fetchesBefore)
        #expect(requests.allSatisfy { $0.hasPrefix("GET /git/\(remote.repoName).git/info/refs?service=git-upload-pack") }, "\(requests)")
        #expect(requests.count >= 1 && requests.count == metrics["batches"] - batchesBefore, "one round trip per batch: \(requests)")
        #expect(metrics["confirmations"] == requests.count)

        // Another writer moves the branch: the same no-op is re-planned on the fetched tip.
        let other = try remote.committer(cache: remote.work.appendingPathComponent("other-cache"))
        _ = try await other.submit(GitOps.DeployPreview(taskID: "noop", images: ["backend": "git.fuq.tv/admin/aiworker-backend:v2"]))
        let redone = try await committer.submit(deploy)
        #expect(redone.changed)
        #expect(redone.commit?.hex == remote.tip)
    }

    @Test("the confirmation works over libgit2's transports too (file://)")
    func confirmationOverFile() async throws {
        let remote = try GitOpsRemote()
        #expect(try remote.manifestor(["init", "--config", remote.config().path]).status == 0)
        let bare = remote.server.bareRepoPath(remote.repoName)
        let catalog = try RenderFixtures.catalog()
        func committer(_ name: String) -> Committer {
            Committer(settings: .init(remote: RemoteOptions(url: "file://\(bare.path)", timeoutSeconds: 5), branch: "main",
                                      cacheDirectory: remote.work.appendingPathComponent(name), author: ("Bot", "bot@aiworker.dev")),
                      catalog: { catalog })
        }
        let a = committer("file-a"), b = committer("file-b")
        let x = GitOps.DeployPreview(taskID: "f1", images: ["backend": "git.fuq.tv/admin/aiworker-backend:x"])
        let y = GitOps.DeployPreview(taskID: "f1", images: ["backend": "git.fuq.tv/admin/aiworker-backend:y"])
        #expect(try await b.submit(x).changed)
        #expect(try await a.submit(y).changed)
        let third = try await b.submit(x)
        #expect(third.changed)
        #expect(third.commit?.hex == remote.tip)
        #expect(try await a.submit(x).changed == false)
    }
}

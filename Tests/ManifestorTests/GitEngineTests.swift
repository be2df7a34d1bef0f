import Foundation
import GitOps
import GitStore
import GitWire
import Templates
import Testing

/// A gitops remote on the real smart-HTTP server, and config files that point at it.
final class GitOpsRemote: @unchecked Sendable {
    let server: GitServer
    let repoName = "aiworker-gitops"
    let repoURL: String
    let work: URL

    init(tls: Bool = false) throws {
        server = try GitServer.start(tls: tls)
        repoURL = try server.createRepo(repoName)
        work = try RenderFixtures.temporaryDirectory()
    }

    deinit { try? FileManager.default.removeItem(at: work) }

    /// Writes a config file; `token` nil means the right password.
    func config(name: String = "manifestor", cache: String = "cache", token: String? = nil, caFile: String?? = .none,
                extra: String = "") throws -> URL {
        let tokenFile = work.appendingPathComponent("\(name).token")
        try (token ?? server.password).write(to: tokenFile, atomically: true, encoding: .utf8)
        let ca: String? = switch caFile {
        case .none: server.caFile?.path
        case .some(let value): value
        }
        var text = """
        repository:
          url: \(repoURL)
          branch: main
          username: manifestor
          tokenFile: \(tokenFile.lastPathComponent)
          cache: \(cache)
          timeoutSeconds: 5

        """
        if let ca { text += "  caFile: \(ca)\n" }
        text += """
        author: {name: Release Bot, email: release-bot@aiworker.dev}
        templates: \(repoRoot().appendingPathComponent("templates").path)
        \(extra)
        """
        let file = work.appendingPathComponent("\(name).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func manifestor(_ args: [String], env: [String: String] = [:], timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(RenderFixtures.manifestor, args, env: env, cwd: repoRoot(), timeout: timeout)
    }

    var tip: String? { try? server.revParse(repo: repoName) }

    func git(_ args: [String]) throws -> String {
        try server.git(["--git-dir", server.bareRepoPath(repoName).path] + args)
    }

    /// An in-process committer on this remote.
    func committer(cache: URL, metrics: any CommitterMetrics = NoCommitterMetrics()) throws -> Committer {
        let catalog = try RenderFixtures.catalog()
        let settings = Committer.Settings(
            remote: RemoteOptions(url: repoURL, credentials: Credentials(username: "manifestor", token: server.password),
                                  caFile: server.caFile?.path, timeoutSeconds: 5),
            branch: "main", cacheDirectory: cache, author: ("Release Bot", "release-bot@aiworker.dev"))
        return Committer(settings: settings, catalog: { catalog }, metrics: metrics)
    }
}

/// Counts what the committer reports.
final class CountingMetrics: CommitterMetrics, @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private func add(_ key: String, _ n: Int = 1) { lock.withLock { counts[key, default: 0] += n } }
    subscript(key: String) -> Int { lock.withLock { counts[key] ?? 0 } }
    func batch(size: Int) { add("batches"); add("batched", size) }
    func pushed() { add("pushes") }
    func pushRefused() { add("refused") }
    func committed(_ count: Int) { add("commits", count) }
    func fetched() { add("fetches") }
    func confirmed() { add("confirmations") }
}

@Suite("Git engine against a real smart-HTTP server", .serialized)
struct GitEngineTests {
    static let backend = "backend=git.fuq.tv/admin/aiworker-backend:pr-1"

    @Test("init, deploy and delete over HTTP with basic auth; commits carry author, subject and trailers")
    func deployOverHTTP() throws {
        let remote = try GitOpsRemote()
        let config = try remote.config().path

        let first = try remote.manifestor(["init", "--config", config])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasSuffix(" init: seed the gitops repository layout\n"), "\(first.stdout)")
        let second = try remote.manifestor(["init", "--config", config])
        #expect(second.status == 0)
        #expect(second.stdout.hasPrefix("unchanged "), "a second init makes no commit: \(second.stdout)")

        let deploy = try remote.manifestor(["deploy-preview", "abc123", "--image", Self.backend, "--requested-by", "task-bot", "--config", config])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        let line = try #require(deploy.stdout.split(separator: "\n").first)
        let short = String(line.prefix(12))
        #expect(line == "\(short) preview(task-abc123): deploy backend:pr-1")
        let tip = try #require(remote.tip)
        #expect(tip.hasPrefix(short))

        // The commit: author from config, subject and trailers, only this preview's files.
        let show = try remote.git(["show", "--format=%an <%ae>%n%B", "--name-only", tip])
        #expect(show.contains("Release Bot <release-bot@aiworker.dev>"))
        for trailer in ["Task-Id: abc123", "Requested-By: task-bot", "Operation: deploy-preview",
                        "Image: backend=git.fuq.tv/admin/aiworker-backend:pr-1", "Image: frontend=git.fuq.tv/admin/aiworker-frontend:main"] {
            #expect(show.contains(trailer), "missing \(trailer)")
        }
        let touched = show.split(separator: "\n").filter { $0.hasSuffix(".yaml") }
        #expect(!touched.isEmpty)
        #expect(touched.allSatisfy { $0.hasPrefix("preview/task-abc123/") }, "\(touched)")

        // The same deploy again: no commit, and it says so.
        let again = try remote.manifestor(["deploy-preview", "abc123", "--image", Self.backend, "--requested-by", "task-bot", "--config", config])
        #expect(again.status == 0)
        #expect(again.stdout == "unchanged \(short)\n")
        #expect(remote.tip == tip)

        let json = try remote.manifestor(["deploy-preview", "abc123", "--image", Self.backend, "--config", config, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["changed"] as? Bool == false)
        #expect(object["namespace"] as? String == "preview-task-abc123")
        #expect(object["url"] as? String == "https://task-abc123.r.fuq.tv")

        let delete = try remote.manifestor(["delete-preview", "abc123", "--config", config])
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(try remote.git(["ls-tree", "-r", "--name-only", "main"]).contains("preview/task-abc123") == false)
        let missing = try remote.manifestor(["delete-preview", "abc123", "--config", config])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no preview for task abc123"))
    }

    @Test("HTTPS with a private CA: deploy, delete, staging, promote, rollback and a fresh cache's fetch work; an untrusted certificate and a wrong token fail clearly and change nothing")
    func httpsAndRefusals() throws {
        let remote = try GitOpsRemote(tls: true)
        #expect(remote.repoURL.hasPrefix("https://localhost:"))
        let good = try remote.config().path
        let seeded = try remote.manifestor(["init", "--config", good])
        #expect(seeded.status == 0, "\(seeded.stderr)")
        let before = try #require(remote.tip)

        let untrusted = try remote.config(name: "untrusted", cache: "cache-untrusted", caFile: .some(nil)).path
        let refused = try remote.manifestor(["deploy-preview", "tls1", "--image", Self.backend, "--config", untrusted])
        #expect(refused.status == 2, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.lowercased().contains("certificate"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)

        let wrong = try remote.config(name: "wrong", cache: "cache-wrong", token: "not-the-token").path
        let denied = try remote.manifestor(["deploy-preview", "tls2", "--image", Self.backend, "--config", wrong])
        #expect(denied.status == 2, "\(denied.stdout) \(denied.stderr)")
        #expect(denied.stderr.lowercased().contains("auth"), "\(denied.stderr)")
        #expect(!denied.stderr.contains("not-the-token"))
        #expect(!denied.stderr.contains(remote.server.password))
        #expect(remote.tip == before, "nothing was pushed")

        let ok = try remote.manifestor(["deploy-preview", "tls3", "--image", Self.backend, "--config", good])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(remote.tip != before)

        // Every other kind of write over https, each fetching what the one before pushed.
        func pinned(_ service: String, _ fill: Character) -> String {
            "\(service)=git.fuq.tv/admin/aiworker-\(service)@sha256:\(String(repeating: fill, count: 64))"
        }
        let steps: [[String]] = [
            ["delete-preview", "tls3"],
            ["deploy", "staging", "--image", pinned("backend", "a"), "--image", pinned("frontend", "a")],
            ["promote", "staging", "production"],
            ["deploy", "staging", "--image", pinned("backend", "b"), "--image", pinned("frontend", "b")],
            ["promote", "staging", "production"],
            ["rollback", "production", "--to", "previous"],
        ]
        for step in steps {
            let tip = remote.tip
            let result = try remote.manifestor(step + ["--config", good])
            #expect(result.status == 0, "\(step): \(result.stdout) \(result.stderr)")
            #expect(remote.tip != tip, "\(step) made a commit")
        }
        let production = try remote.git(["show", "main:production/aiworker/deployment-backend.yaml"])
        #expect(production.contains("@sha256:" + String(repeating: "a", count: 64)), "the rollback restored the first promotion")
        #expect(try remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).contains("task-tls3") == false)
        // A cache that starts empty gets the whole history over https in one pack.
        let fresh = try remote.config(name: "fresh", cache: "cache-fresh").path
        let history = try remote.manifestor(["history", "production", "--config", fresh])
        #expect(history.status == 0 && history.stdout.contains("rollback"), "\(history.stdout) \(history.stderr)")
        #expect(try remote.server.git(["--git-dir", remote.work.appendingPathComponent("cache-fresh/repo.git").path, "fsck", "--strict"]).isEmpty)
    }

    @Test("20 deploy-preview processes at once: all land, linear history, fsck clean")
    func twentyProcesses() async throws {
        let remote = try GitOpsRemote()
        // Half share one cache (they take turns on its file lock), half have their own (they race
        // on the remote and retry refused pushes).
        let shared = try remote.config(name: "shared", cache: "cache-shared").path
        #expect(try remote.manifestor(["init", "--config", shared]).status == 0)
        var configs: [String] = []
        for i in 0..<20 {
            configs.append(i % 2 == 0 ? shared : try remote.config(name: "own\(i)", cache: "cache-own\(i)").path)
        }
        let configList = configs
        let results = try await withThrowingTaskGroup(of: (Int, Int32, String).self) { group in
            for i in 0..<20 {
                group.addTask {
                    let r = try remote.manifestor(["deploy-preview", "burst-\(i)", "--image", Self.backend, "--config", configList[i]], timeout: 240)
                    return (i, r.status, r.stderr)
                }
            }
            var out: [(Int, Int32, String)] = []
            for try await r in group { out.append(r) }
            return out
        }
        for (i, status, stderr) in results { #expect(status == 0, "process \(i): \(stderr)") }

        let clone = remote.work.appendingPathComponent("clone")
        try remote.server.clone(remote.repoURL, into: clone)
        let dirs = try FileManager.default.contentsOfDirectory(atPath: clone.appendingPathComponent("preview").path).filter { $0.hasPrefix("task-") }
        #expect(Set(dirs) == Set((0..<20).map { "task-burst-\($0)" }))
        let merges = try remote.server.git(["rev-list", "--merges", "HEAD"], cwd: clone)
        #expect(merges.isEmpty, "linear history")
        let count = try remote.server.git(["rev-list", "--count", "HEAD"], cwd: clone).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(count == "21", "init + one commit per deploy")
        let fsck = try run("git", ["--git-dir", remote.server.bareRepoPath(remote.repoName).path, "fsck", "--strict"], env: remote.server.gitEnvironment)
        #expect(fsck.status == 0, "\(fsck.stdout) \(fsck.stderr)")
    }

    @Test("a push refused because another writer got there first is re-run on the new tip and lands")
    func refusedPushIsRetried() async throws {
        let remote = try GitOpsRemote()
        let metrics = CountingMetrics()
        let committer = try remote.committer(cache: remote.work.appendingPathComponent("cache"), metrics: metrics)
        _ = try await committer.submit(try SeedRepository(skeleton: repoRoot().appendingPathComponent("gitops-skeleton")))
        let first = try await committer.submit(DeployPreview(taskID: "one", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-1"]))
        #expect(first.changed)

        // Someone else moves main, touching the same preview and staging: our cache is now stale.
        let other = try remote.server.commitFiles(repo: remote.repoName, files: [
            "preview/task-one/extra.txt": "another writer\n",
            "staging/note.txt": "kept\n",
        ], message: "someone else")

        let second = try await committer.submit(DeployPreview(taskID: "one", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-2"]))
        #expect(second.changed)
        #expect(metrics["refused"] >= 1, "the first push was refused")
        let tip = try #require(remote.tip)
        #expect(tip == second.commit?.hex)
        // The other writer's commit is an ancestor: nothing was overwritten or dropped.
        #expect(try remote.git(["merge-base", "--is-ancestor", other, tip]).isEmpty)
        #expect(try remote.git(["show", "\(tip):staging/note.txt"]) == "kept\n")
        // The later operation was re-run on the new state: the preview holds exactly its render.
        #expect(try remote.git(["show", "\(tip):preview/task-one/deployment-backend.yaml"]).contains("aiworker-backend:pr-2"))
        #expect(try remote.git(["ls-tree", "--name-only", "\(tip):preview/task-one"]).contains("extra.txt") == false)
    }

    @Test("a pipelined push that is refused is re-run on the new tip, and so is the batch built on it")
    func pipelinedPushRefused() async throws {
        let remote = try GitOpsRemote()
        let catalog = try RenderFixtures.catalog()
        let metrics = CountingMetrics()
        let settings = Committer.Settings(
            remote: RemoteOptions(url: remote.repoURL, credentials: Credentials(username: "manifestor", token: remote.server.password),
                                  caFile: remote.server.caFile?.path, timeoutSeconds: 5),
            branch: "main", cacheDirectory: remote.work.appendingPathComponent("cache"),
            author: ("Release Bot", "release-bot@aiworker.dev"), maxBatch: 1)
        let committer = Committer(settings: settings, catalog: { catalog }, metrics: metrics)
        _ = try await committer.submit(try SeedRepository(skeleton: repoRoot().appendingPathComponent("gitops-skeleton")))

        // A pre-receive hook that holds a push while a file `hold` exists (taking it), until the
        // test writes `release-N` for the N-th held push (bounded: 30 s).
        let control = remote.work.appendingPathComponent("hook")
        try FileManager.default.createDirectory(at: control, withIntermediateDirectories: true)
        let hook = remote.server.bareRepoPath(remote.repoName).appendingPathComponent("hooks/pre-receive")
        try """
        #!/bin/sh
        d='\(control.path)'
        if [ -f "$d/hold" ]; then
            rm -f "$d/hold"
            n=$(ls "$d" | grep -c '^held-')
            n=$((n + 1))
            touch "$d/held-$n"
            i=0
            while [ ! -f "$d/release-$n" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
        fi
        exit 0

        """.write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        func touch(_ name: String) throws { try Data().write(to: control.appendingPathComponent(name)) }
        func waitFor(_ what: String, _ condition: () -> Bool) throws {
            for _ in 0..<600 where !condition() { Thread.sleep(forTimeInterval: 0.05) }
            guard condition() else { throw FixtureError("timed out waiting for \(what)") }
        }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: control.appendingPathComponent(name).path) }
        let image = ["backend": "git.fuq.tv/admin/aiworker-backend:pr-1"]

        // 1. X's push is held; A and B queue behind it (one operation per batch).
        try touch("hold")
        async let x = committer.submit(DeployPreview(taskID: "x", images: image))
        try waitFor("X held") { exists("held-1") }
        async let a = committer.submit(DeployPreview(taskID: "a", images: image))
        async let b = committer.submit(DeployPreview(taskID: "b", images: image))
        try waitFor("A and B queued") { committer.queuedOperations == 2 }
        // 2. X lands; A is built and its push held, B is built on A's head meanwhile.
        try touch("hold")
        try touch("release-1")
        let landedX = try await x
        try waitFor("A held") { exists("held-2") }
        // 3. Someone else moves main while A's push waits: A's compare-and-swap must fail.
        let other = try remote.server.commitFiles(repo: remote.repoName, files: ["staging/note.txt": "kept\n"], message: "someone else")
        try touch("release-2")
        let (landedA, landedB) = try await (a, b)

        #expect(metrics["refused"] >= 1, "A's pipelined push was refused")
        let tip = try #require(remote.tip)
        #expect(tip == landedB.commit?.hex)
        let line = try remote.git(["rev-list", "--first-parent", "\(landedX.commit!.hex)..\(tip)"])
            .split(separator: "\n").map(String.init)
        #expect(line == [landedB.commit!.hex, landedA.commit!.hex, other], "B on A on the other writer's commit")
        #expect(try remote.git(["rev-list", "--merges", tip]).isEmpty)
        #expect(try remote.git(["show", "\(tip):staging/note.txt"]) == "kept\n")
        for task in ["x", "a", "b"] {
            #expect(try remote.git(["ls-tree", "-d", "--name-only", "\(tip):preview"]).contains("task-\(task)"))
        }
        _ = try remote.git(["fsck", "--strict", "--no-dangling"])
    }

    @Test("a remote that is down fails within the time bound; the cache stays usable once it is back")
    func remoteDown() throws {
        let remote = try GitOpsRemote()
        let config = try remote.config().path
        #expect(try remote.manifestor(["init", "--config", config]).status == 0)
        try remote.server.stop()
        let down = try remote.manifestor(["deploy-preview", "down1", "--image", Self.backend, "--config", config], timeout: 60)
        #expect(down.status == 2, "\(down.stderr)")
        #expect(down.stderr.split(separator: "\n").count == 1, "\(down.stderr)")
        #expect(down.stderr.contains("unavailable") || down.stderr.contains("unreachable") || down.stderr.contains("connect"), "\(down.stderr)")
        try remote.server.restart()
        let back = try remote.manifestor(["deploy-preview", "down1", "--image", Self.backend, "--config", config])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).contains("task-down1"))
    }

    @Test("the product code never calls the git CLI")
    func noGitCLI() throws {
        let sources = repoRoot().appendingPathComponent("Sources")
        let walker = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        var offenders: [String] = []
        for case let file as URL in walker where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for needle in ["Process(", "posix_spawn", "execv", "/usr/bin/git", "git-core", "system("] where text.contains(needle) {
                offenders.append("\(file.lastPathComponent): \(needle)")
            }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }
}

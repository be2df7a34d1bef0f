import Foundation
import GitOps
import GitStore
import GitWire
import Testing

/// Issue 18: the cache is packed while it serves, beside a CLI writing to it, and survives a
/// SIGKILL in the middle of packing. Against the real git server.
@Suite("Cache packing", .serialized)
struct CachePackingTests {
    /// Small, so that a few deploys (about 12 objects each) pass it again and again.
    static let threshold = 40
    static let image = "git.fuq.tv/admin/aiworker-backend:pr-1"

    @Test("writes go on while the cache is packed: every answered deploy is on the remote, fsck passes, few loose objects are left",
          arguments: [("merges on the git thread", 2_000), ("merges in the background", 0)])
    func packsWhileWriting(mode: String, inlineMerge: Int) async throws {
        let remote = try GitOpsRemote()
        let cache = remote.work.appendingPathComponent("cache")
        let metrics = PackingMetrics()
        let committer = try Self.committer(remote, cache: cache, metrics: metrics, inlineMerge: inlineMerge)
        _ = try await committer.submit(try SeedRepository(skeleton: repoRoot().appendingPathComponent("gitops-skeleton")))

        var answered: [String: String] = [:]
        for wave in 0..<6 {
            // Ten concurrent deploys, re-deploys of the previous wave's tasks among them.
            let outcomes = try await withThrowingTaskGroup(of: (String, String?).self) { group in
                for i in 0..<10 {
                    let task = i < 7 ? "w\(wave)-\(i)" : "w\(max(0, wave - 1))-\(i)"
                    let tag = "git.fuq.tv/admin/aiworker-backend:pr-\(wave)"
                    group.addTask { (task, try await committer.submit(DeployPreview(taskID: task, images: ["backend": tag])).commit?.hex) }
                }
                var out: [(String, String?)] = []
                for try await outcome in group { out.append(outcome) }
                return out
            }
            for (task, commit) in outcomes { answered[task] = try #require(commit) }
        }
        #expect(metrics.runs >= 3, "packed again and again while the deploys went on (\(metrics.runs) runs)")
        #expect(metrics.merges >= 1, "packs were merged \(mode) (\(metrics.merges) merges)")
        try Self.expectOnRemote(remote, answered)
        // Before the committer stops: the ref on disk may be behind, never ahead of the objects on disk.
        try Self.expectConsistentCache(cache)
        await committer.drain()
        try Self.expectHealthyCache(cache, remote: remote)
    }

    @Test("a CLI writes through the same cache folder while the committer writes and packs it")
    func packsBesideCLI() async throws {
        let remote = try GitOpsRemote()
        let cache = remote.work.appendingPathComponent("cache")
        let config = try Self.config(remote, cache: "cache")
        #expect(try remote.manifestor(["init", "--config", config]).status == 0)
        let metrics = PackingMetrics()
        let committer = try Self.committer(remote, cache: cache, metrics: metrics)

        let cli = Task.detached { () throws -> [String: String] in
            var answered: [String: String] = [:]
            for i in 0..<8 {
                let result = try remote.manifestor(["deploy-preview", "cli-\(i)", "--image", "backend=\(Self.image)", "--config", config])
                guard result.status == 0 else { throw FixtureError("CLI deploy cli-\(i): \(result.stderr)") }
                answered["cli-\(i)"] = String(result.stdout.prefix { $0 != " " })
            }
            return answered
        }
        var answered: [String: String] = [:]
        for wave in 0..<5 {
            let outcomes = try await withThrowingTaskGroup(of: (String, String?).self) { group in
                for i in 0..<6 {
                    group.addTask {
                        (task: "srv\(wave)-\(i)",
                         try await committer.submit(DeployPreview(taskID: "srv\(wave)-\(i)", images: ["backend": Self.image])).commit?.hex)
                    }
                }
                var out: [(String, String?)] = []
                for try await outcome in group { out.append(outcome) }
                return out
            }
            for (task, commit) in outcomes { answered[task] = try #require(commit) }
        }
        let fromCLI = try await cli.value
        #expect(metrics.runs >= 2, "the committer packed (\(metrics.runs) runs)")
        let history = try remote.git(["rev-list", "main"])
        for (task, prefix) in fromCLI {
            #expect(prefix.count >= 7 && history.contains(prefix), "\(task)'s commit \(prefix) is on the remote")
        }
        try Self.expectOnRemote(remote, answered.merging(fromCLI.mapValues { _ in "" }) { a, _ in a })
        // One more CLI run, with nothing new written since the committer's last batch: it counts
        // the loose objects afresh and packs when they are over the threshold.
        #expect(try remote.manifestor(["deploy-preview", "cli-last", "--image", "backend=\(Self.image)", "--config", config]).status == 0)
        try Self.expectHealthyCache(cache, remote: remote)
    }

    @Test("SIGKILL in the middle of packing, at each step: the next start uses the cache, the next deploy works, fsck passes",
          arguments: ["new-written", "new-installed", "merge-written", "merge-installed"])
    func killedWhilePacking(point: String) async throws {
        let h = try ServerHarness()
        let deployer = h.tokens["deployer"]!
        let tokensFile = try h.writeTokensFile()
        let config = try Self.config(h.remote, cache: "serve-cache", extra: "server: {tokensFile: \(tokensFile.path)}\n")
        let cache = h.remote.work.appendingPathComponent("serve-cache")
        let marker = h.remote.work.appendingPathComponent("paused-\(point)")

        let first = try ServeProcess(config: config, log: h.remote.work.appendingPathComponent("serve-\(point)-1.log"),
                                     environment: ["MANIFESTOR_TEST_PACKING_PAUSE": "\(point):\(marker.path)"])
        let api1 = first.api
        // Deploys one after another until packing stops at `point` (the git thread then waits
        // for good, so the deploy in progress gets no answer); bounded.
        let deploys = Task.detached { () -> [String: String] in
            var answered: [String: String] = [:]
            for i in 0..<60 {
                guard !FileManager.default.fileExists(atPath: marker.path),
                      let answer = try? await api1.send("POST", "/api/tasks/k\(i)/deploy-preview", token: deployer, json: ServerTests.deployBody),
                      answer.status == 201, let commit = answer.json?["commit"] as? String else { break }
                answered["k\(i)"] = commit
            }
            return answered
        }
        var paused = false
        for _ in 0..<3_000 where !paused {
            paused = FileManager.default.fileExists(atPath: marker.path)
            if !paused { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(paused, "packing reached \(point)")
        kill(first.process.processIdentifier, SIGKILL)
        #expect(first.waitForExit(seconds: 30) != nil)
        // What the killed process left: objects held in memory are gone, and every ref names objects on disk.
        try Self.expectConsistentCache(cache)
        let answered = await deploys.value
        #expect(!answered.isEmpty)

        let second = try ServeProcess(config: config, log: h.remote.work.appendingPathComponent("serve-\(point)-2.log"))
        let after = try await second.api.send("POST", "/api/tasks/after-kill/deploy-preview", token: deployer, json: ServerTests.deployBody)
        #expect(after.status == 201, "\(String(decoding: after.data, as: UTF8.self))")
        var all = answered
        all["after-kill"] = after.json?["commit"] as? String ?? ""
        kill(second.process.processIdentifier, SIGTERM)
        #expect(second.waitForExit(seconds: 30) == 0)
        try Self.expectOnRemote(h.remote, all)
        #expect(!FileManager.default.fileExists(atPath: cache.appendingPathComponent("repo.git/manifestor-packing.tmp").path),
                "the half-done packing's temporary folder was cleaned up")
        try Self.expectHealthyCache(cache, remote: h.remote, checkLoose: false)
    }

    @Test("leftovers of packing killed processes are removed at the next open under the lock; a live process's background merge is not")
    func leftoversRemoved() async throws {
        let remote = try GitOpsRemote()
        let cache = remote.work.appendingPathComponent("cache")
        let committer = try Self.committer(remote, cache: cache, metrics: PackingMetrics())
        _ = try await committer.submit(try SeedRepository(skeleton: repoRoot().appendingPathComponent("gitops-skeleton")))
        _ = try await committer.submit(DeployPreview(taskID: "before", images: ["backend": Self.image]))
        let repo = cache.appendingPathComponent("repo.git")
        // A process that has exited: its pid is free.
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let fm = FileManager.default
        let dead = repo.appendingPathComponent("manifestor-merging-\(exited.processIdentifier).tmp")
        let live = repo.appendingPathComponent("manifestor-merging-1.tmp")
        let stale = [repo.appendingPathComponent("manifestor-packing.tmp"), dead]
        for folder in stale + [live] {
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("half a pack".utf8).write(to: folder.appendingPathComponent("pack-0.pack"))
        }
        let packs = repo.appendingPathComponent("objects/pack")
        let orphans = [packs.appendingPathComponent("pack-\(String(repeating: "ab", count: 20)).pack"),
                       packs.appendingPathComponent("pack_git2_Xy12Ab"), packs.appendingPathComponent("pack-\(String(repeating: "cd", count: 20)).idx")]
        for file in orphans { try Data("junk".utf8).write(to: file) }

        let after = try await committer.submit(DeployPreview(taskID: "after", images: ["backend": Self.image]))
        #expect(after.changed)
        for path in stale + orphans { #expect(!fm.fileExists(atPath: path.path), "\(path.lastPathComponent) removed") }
        #expect(fm.fileExists(atPath: live.path), "the folder of a live process's merge is left alone")
        try fm.removeItem(at: live)
        try Self.expectOnRemote(remote, ["before": "", "after": after.commit!.hex])
        await committer.drain()
        try Self.expectHealthyCache(cache, remote: remote, checkLoose: false)
    }

    @Test("repository.packLooseObjects is read from the config and checked, the error naming the field")
    func packLooseObjectsConfig() throws {
        let remote = try GitOpsRemote()
        let good = try ManifestorConfig.load(path: try Self.config(remote, cache: "cache"))
        #expect(Committer.Settings(config: good).packLooseObjects == Self.threshold)
        let plain = try ManifestorConfig.load(path: try remote.config().path)
        #expect(Committer.Settings(config: plain).packLooseObjects == Committer.Settings.defaultPackLooseObjects)
        let file = try remote.config(name: "bad")
        try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "  timeoutSeconds: 5\n", with: "  timeoutSeconds: 5\n  packLooseObjects: 0\n")
            .write(to: file, atomically: true, encoding: .utf8)
        #expect { try ManifestorConfig.load(path: file.path) } throws: { "\($0)".contains("repository.packLooseObjects") }
    }

    // MARK: Helpers

    static func committer(_ remote: GitOpsRemote, cache: URL, metrics: PackingMetrics, inlineMerge: Int = 2_000) throws -> Committer {
        let catalog = try RenderFixtures.catalog()
        let settings = Committer.Settings(
            remote: RemoteOptions(url: remote.repoURL, credentials: Credentials(username: "manifestor", token: remote.server.password),
                                  caFile: remote.server.caFile?.path, timeoutSeconds: 5),
            branch: "main", cacheDirectory: cache, author: ("Release Bot", "release-bot@aiworker.dev"),
            packLooseObjects: threshold)
        var tuned = settings
        tuned.packInlineMergeObjects = inlineMerge
        // As the server runs: new objects in memory until packed.
        tuned.objectsInMemory = true
        return Committer(settings: tuned, catalog: { catalog }, metrics: metrics)
    }

    /// The remote's config file with the small threshold in its repository section.
    static func config(_ remote: GitOpsRemote, cache: String, extra: String = "") throws -> String {
        let file = try remote.config(name: "packing-\(cache)", cache: cache, extra: extra)
        let text = try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "  timeoutSeconds: 5\n", with: "  timeoutSeconds: 5\n  packLooseObjects: \(threshold)\n")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// Every task has its directory on the remote's main, and every commit named is in main's history.
    static func expectOnRemote(_ remote: GitOpsRemote, _ answered: [String: String]) throws {
        let dirs = Set(try remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).split(separator: "\n").map(String.init))
        let history = Set(try remote.git(["rev-list", "main"]).split(separator: "\n").map(String.init))
        for (task, commit) in answered {
            #expect(dirs.contains("task-\(task)"), "\(task) is on the remote")
            #expect(commit.count != 40 || history.contains(commit), "\(task)'s commit \(commit) is in main's history")
        }
    }

    /// `git fsck --strict` passes on the cache: every ref names a commit whose history is on disk.
    static func expectConsistentCache(_ cache: URL) throws {
        let repo = cache.appendingPathComponent("repo.git").path
        let fsck = try run("git", ["--git-dir", repo, "fsck", "--strict", "--no-dangling"])
        #expect(fsck.status == 0, "git fsck --strict: \(fsck.stdout)\(fsck.stderr)")
    }

    /// `git fsck --strict` passes on the cache, its tracking ref is the remote's tip, and (unless
    /// told otherwise) fewer loose objects than the threshold are left in it.
    static func expectHealthyCache(_ cache: URL, remote: GitOpsRemote, checkLoose: Bool = true) throws {
        let repo = cache.appendingPathComponent("repo.git").path
        let fsck = try run("git", ["--git-dir", repo, "fsck", "--strict", "--no-dangling"])
        #expect(fsck.status == 0, "git fsck --strict: \(fsck.stdout)\(fsck.stderr)")
        let tracking = try runChecked("git", ["--git-dir", repo, "rev-parse", "refs/remotes/origin/main"])
        #expect(tracking.trimmingCharacters(in: .whitespacesAndNewlines) == remote.tip)
        let counts = try runChecked("git", ["--git-dir", repo, "count-objects", "-v"])
        let field = { (name: String) in
            counts.split(separator: "\n").first { $0.hasPrefix(name + ": ") }.flatMap { Int($0.dropFirst(name.count + 2)) } ?? -1
        }
        #expect(field("garbage") == 0, "no stray files in objects/pack: \(counts)")
        if checkLoose {
            #expect(field("packs") >= 1, "\(counts)")
            #expect(field("count") < threshold, "loose objects back under the threshold: \(counts)")
        }
    }
}

/// Counts the committer's packing runs.
final class PackingMetrics: CommitterMetrics, @unchecked Sendable {
    private let lock = NSLock()
    private var packed = 0
    private var merged = 0
    var runs: Int { lock.withLock { packed } }
    var merges: Int { lock.withLock { merged } }
    func cachePacked(looseObjects: Int, mergedPacks: Int, seconds: Double) {
        lock.withLock {
            if looseObjects > 0 { packed += 1 }
            if mergedPacks > 0 { merged += 1 }
        }
    }
    func batch(size: Int) {}
    func pushed() {}
    func pushRefused() {}
    func committed(_ count: Int) {}
    func fetched() {}
    func confirmed() {}
}

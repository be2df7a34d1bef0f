import Foundation
import GitOps
import GitStore
import GitWire
import Templates
import Testing

/// The manifestor binary built beside this test bundle (any scratch path), else .build/debug.
enum EnvironmentCLI {
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for dir in [beside, beside.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("manifestor").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return RenderFixtures.manifestor
    }

    /// Runs `manifestor ARGS --config <world's config>`.
    static func run(_ world: EnvironmentWorld, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ManifestorTests.run(binary, args + ["--config", world.configPath], env: ["MANIFESTOR_GIT_TOKEN": "", "USER": "carol"])
    }
}

/// `<12-hex> <subject>` → the 12 hex digits.
private func firstLineCommit(_ stdout: String) -> String? {
    guard let line = stdout.split(separator: "\n").first, let space = line.firstIndex(of: " ") else { return nil }
    let id = line[..<space]
    return id.count == 12 && id.allSatisfy(\.isHexDigit) ? String(id) : nil
}

@Suite("The environment commands of the CLI")
struct EnvironmentCLITests {
    @Test("deploy staging, promote (direct and --review), rollback, history: first lines, --json and exit statuses")
    func cliFlow() async throws {
        let world = try await EnvironmentWorld.start()
        let backend = try world.push("backend", tag: "v1")
        let frontend = try world.push("frontend", tag: "v1")

        // deploy staging: tags pinned to the registry's digests.
        var result = try EnvironmentCLI.run(world, ["deploy", "staging", "--image", "backend=\(backend.ref)", "--image", "frontend=\(frontend.ref)"])
        #expect(result.status == 0, "\(result.stderr)")
        var commit = try #require(firstLineCommit(result.stdout), "\(result.stdout)")
        #expect(try world.tip()?.hasPrefix(commit) == true)
        #expect(result.stdout.hasPrefix("\(commit) deploy(staging/aiworker): backend@sha256:\(backend.digest.dropFirst(7).prefix(7))"))
        #expect(CommitMessage.trailers(of: try world.message()).contains { $0 == ("Requested-By", "carol") })

        // The same again: unchanged, exit 0.
        result = try EnvironmentCLI.run(world, ["deploy", "staging", "--image", "backend=\(backend.ref)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "unchanged \(commit)\n")

        // promote --review: main untouched, the branch named on the second line.
        let mainBefore = try world.tip()
        result = try EnvironmentCLI.run(world, ["promote", "staging", "production", "--review"])
        #expect(result.status == 0, "\(result.stderr)")
        let reviewCommit = try #require(firstLineCommit(result.stdout), "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("\(reviewCommit) promote(staging/aiworker→production/aiworker): "))
        #expect(lines[1] == "branch promote/production/\(reviewCommit)")
        #expect(try world.tip() == mainBefore)
        #expect(try world.tip("refs/heads/promote/production/\(reviewCommit)")?.hasPrefix(reviewCommit) == true)

        // promote --json: the HTTP answer; production runs exactly the registry's digests.
        result = try EnvironmentCLI.run(world, ["promote", "staging", "production", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let promoted = try JSONDecoder().decode(PromotionAnswer.self, from: Data(result.stdout.utf8))
        let promotedTip = try world.tip()
        #expect(promoted.changed && promoted.branch == nil && promoted.commit == promotedTip)
        #expect(try world.deploymentImages("main", "production/aiworker") == [
            "backend": world.pinned("backend", backend.digest), "frontend": world.pinned("frontend", frontend.digest),
        ])
        #expect(try world.treeID("main", "production/aiworker") == (try world.treeID("refs/heads/promote/production/\(reviewCommit)", "production/aiworker")))
        result = try EnvironmentCLI.run(world, ["promote", "staging", "production"])
        #expect(result.stdout == "unchanged \(promoted.commit!.prefix(12))\n")

        // A new backend, promoted alone; then rolled back.
        let backend2 = try world.push("backend", tag: "v2")
        #expect(try EnvironmentCLI.run(world, ["deploy", "staging", "--image", "backend=\(backend2.ref)"]).status == 0)
        result = try EnvironmentCLI.run(world, ["promote", "staging", "production", "--service", "backend"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("promote(staging/aiworker→production/aiworker): backend@sha256:\(backend2.digest.dropFirst(7).prefix(7))\n"))
        let beforeRollback = try world.commits()

        result = try EnvironmentCLI.run(world, ["rollback", "production", "--to", "previous"])
        #expect(result.status == 0, "\(result.stderr)")
        commit = try #require(firstLineCommit(result.stdout), "\(result.stdout)")
        #expect(result.stdout.hasPrefix("\(commit) rollback(production/aiworker): to "))
        #expect(try world.treeID("main", "production/aiworker") == (try world.treeID(promoted.commit!, "production/aiworker")))
        #expect(try world.commits().dropFirst().elementsEqual(beforeRollback))

        // history: newest first, one line per operation, then its images.
        result = try EnvironmentCLI.run(world, ["history", "production"])
        #expect(result.status == 0, "\(result.stderr)")
        let operations = result.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }
        #expect(operations.count == 3, "\(result.stdout)")
        #expect(operations.first?.hasPrefix("\(commit) ") == true)
        #expect(operations.first?.contains(" rollback carol (Manifestor <manifestor@aiworker.dev>) rollback(production/aiworker)") == true, "\(result.stdout)")
        result = try EnvironmentCLI.run(world, ["history", "production", "--json"])
        let history = try JSONDecoder().decode(HistoryAnswer.self, from: Data(result.stdout.utf8))
        #expect(history.entries.map(\.operation) == ["rollback", "promote", "promote"])
        #expect(history.entries[1].images.contains("backend=\(world.pinned("backend", backend2.digest))"))
    }

    @Test("bad input exits 1, an unreachable registry 2; one line on stderr; nothing committed")
    func cliErrors() async throws {
        let world = try await EnvironmentWorld.start()
        try await world.deployStaging(tag: "v1")
        let stagingOnly = try #require(try world.tip())
        let tip = try world.tip()
        let missing = world.registry.reference(name: "aiworker-backend", tag: "nope")
        let cases: [(args: [String], status: Int32, says: String)] = [
            (["deploy", "staging", "--image", "backend=\(missing)"], 1, missing),
            (["deploy", "production", "--image", "backend=\(missing)"], 1, "manifestor promote staging production"),
            (["deploy", "staging", "--image", "nope=x/y:1"], 1, "images.nope"),
            (["rollback", "qa", "--to", "previous"], 1, "staging or production"),
            (["history", "preview"], 1, "staging or production"),
            (["rollback", "production", "--to", stagingOnly], 1, "did not change production/aiworker/"),
            (["rollback", "production", "--to", String(repeating: "a", count: 40)], 1, "no commit"),
            (["rollback", "production", "--to", "previous"], 1, "no earlier state"),
            (["promote", "production", "staging"], 1, "staging or preview/task-<id>"),
            (["promote", "staging", "production", "--service", "database"], 1, "database"),
            (["gc", "--now", "yesterday"], 1, "RFC 3339"),
        ]
        for c in cases {
            let result = try EnvironmentCLI.run(world, c.args)
            #expect(result.status == c.status, "\(c.args): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(c.args): \(result.stderr)")
            #expect(result.stderr.contains(c.says), "\(c.args): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        let backend = try world.push("backend", tag: "v2")
        world.registry.stop()
        let down = try EnvironmentCLI.run(world, ["deploy", "staging", "--image", "backend=\(backend.ref)"])
        #expect(down.status == 2, "\(down.stderr)")
        #expect(down.stderr.contains(world.registry.host), "\(down.stderr)")
        #expect(try world.tip() == tip)
    }

    @Test("gc --now a minute past one preview's expiry removes exactly the expired previews, in one commit")
    func gcRemovesExactlyExpired() async throws {
        let world = try await EnvironmentWorld.start()
        let start = RenderFixtures.now
        let committer = world.committer { start }
        _ = try await committer.submit(GitOps.DeployPreview(taskID: "old", images: [:], ttl: "1h"))
        _ = try await committer.submit(GitOps.DeployPreview(taskID: "due", images: [:], ttl: "6h"))
        _ = try await committer.submit(GitOps.DeployPreview(taskID: "fresh", images: [:], ttl: "2d"))
        let due = start.addingTimeInterval(6 * 3600)
        let before = try world.commits()

        // A minute before "due" expires: only "old" goes.
        var result = try EnvironmentCLI.run(world, ["gc", "--now", RFC3339.format(due.addingTimeInterval(-60)), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        var answer = try JSONDecoder().decode(ExpiryAnswer.self, from: Data(result.stdout.utf8))
        #expect(answer.changed && answer.removed.map(\.taskId) == ["old"])

        // A minute past it: "due" goes, "fresh" stays.
        result = try EnvironmentCLI.run(world, ["gc", "--now", RFC3339.format(due.addingTimeInterval(60))])
        #expect(result.status == 0, "\(result.stderr)")
        let commit = try #require(firstLineCommit(result.stdout), "\(result.stdout)")
        #expect(result.stdout.hasPrefix("\(commit) gc: remove 1 expired preview (task-due)"))
        let after = try world.commits()
        #expect(after.count == before.count + 2)
        #expect(Array(after.dropFirst(2)) == before)
        #expect(try world.files("main", "preview").sorted() == [".gitkeep", "task-fresh"])
        #expect(try world.gitOut(["diff", "--name-only", "main~1", "main"]).split(separator: "\n").allSatisfy { $0.hasPrefix("preview/task-due/") })
        let trailers = CommitMessage.trailers(of: try world.message())
        #expect(trailers.filter { $0.0 == "Task-Id" }.map(\.1) == ["due"])
        #expect(trailers.contains { $0 == ("Operation", "gc") })
        #expect(try world.message().contains("- preview/task-due expired at \(RFC3339.format(due))"))

        // Nothing more expired: no commit.
        result = try EnvironmentCLI.run(world, ["gc", "--now", RFC3339.format(due.addingTimeInterval(120)), "--json"])
        answer = try JSONDecoder().decode(ExpiryAnswer.self, from: Data(result.stdout.utf8))
        #expect(!answer.changed && answer.removed.isEmpty)
        #expect(try world.commits() == after)

        // Several at once: one commit that lists each.
        _ = try await committer.submit(GitOps.DeployPreview(taskID: "again", images: [:], ttl: "1h"))
        result = try EnvironmentCLI.run(world, ["gc", "--now", RFC3339.format(start.addingTimeInterval(3 * 86_400))])
        #expect(result.stdout.contains("gc: remove 2 expired previews (task-again, task-fresh)"), "\(result.stdout)")
        #expect(CommitMessage.trailers(of: try world.message()).filter { $0.0 == "Task-Id" }.map(\.1) == ["again", "fresh"])
        #expect(try world.files("main", "preview") == [".gitkeep"])
    }
}

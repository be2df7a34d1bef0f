import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GitOps
import Testing

// Issue "Reads never wait behind writes", acceptance items shown here:
//  2. reads issued during a burst of writes all answer, and every read after an acknowledged
//     write sees it, two replicas included → readsDuringBurstSeeEveryAcknowledgedWrite
//  3. paging through 2,500 previews with limit and continue returns each exactly once while
//     previews are added and deleted → pagingWhileWriting
// (1, the benchmark rows, is `make bench`.)

/// Set once, read from the pollers.
private final class DoneFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func set() { lock.withLock { done = true } }
    var value: Bool { lock.withLock { done } }
}

@Suite("Reads beside the writes: snapshot reads, the preview index, paged lists", .serialized)
struct SnapshotReadTests {
    static func body(_ tag: String) -> String { #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:\#(tag)"}}"# }

    static func backendImage(_ answer: APIClient.Answer) -> String? {
        (answer.json?["images"] as? [String: String])?["backend"]
    }

    static func listedTasks(_ answer: APIClient.Answer) -> [String] {
        (answer.json?["previews"] as? [[String: Any]])?.compactMap { $0["taskId"] as? String } ?? []
    }

    @Test("reads during a burst of writes through two replicas all answer; each read after an acknowledged write sees it, on either replica")
    func readsDuringBurstSeeEveryAcknowledgedWrite() async throws {
        let r = try Replicas()
        defer { r.stop() }
        let reader = r.h.tokens["reader"]!, deployer = r.deployer
        let a = r.a.api, b = r.b.api
        let done = DoneFlag()

        // Two pollers per replica list the previews for as long as the writers write.
        async let polls: [Int] = withThrowingTaskGroup(of: [Int].self) { group in
            for api in [a, a, b, b] {
                group.addTask {
                    var statuses: [Int] = []
                    while !done.value, statuses.count < 20_000 {
                        statuses.append(try await api.send("GET", "/api/previews?limit=1000", token: reader).status)
                    }
                    return statuses
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }

        // Eight writers, five tasks each: deploy on one replica and read on the other, re-deploy
        // on the other and read on the first, delete and read again.
        let failures: [String] = try await withThrowingTaskGroup(of: [String].self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var failures: [String] = []
                    func check(_ ok: Bool, _ what: String) { if !ok { failures.append(what) } }
                    for n in 0..<5 {
                        let task = "rs-\(writer)-\(n)"
                        let (first, second) = writer % 2 == 0 ? (a, b) : (b, a)
                        let deployed = try await first.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer, json: Self.body("one"))
                        check(deployed.status == 201, "\(task): deploy answered \(deployed.status)")
                        let seen = try await second.send("GET", "/api/tasks/\(task)/preview", token: reader)
                        check(seen.status == 200 && Self.backendImage(seen)?.hasSuffix(":one") == true,
                              "\(task): the other replica answered \(seen.status) \(Self.backendImage(seen) ?? "-") after the deploy")
                        let listed = try await second.send("GET", "/api/previews?limit=1000", token: reader)
                        check(Self.listedTasks(listed).contains(task), "\(task): missing from the other replica's list after the deploy")

                        let again = try await second.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer, json: Self.body("two"))
                        check(again.status == 201, "\(task): re-deploy answered \(again.status)")
                        let updated = try await first.send("GET", "/api/tasks/\(task)/preview", token: reader)
                        check(Self.backendImage(updated)?.hasSuffix(":two") == true,
                              "\(task): the first replica answered \(Self.backendImage(updated) ?? "-") after the re-deploy")

                        if n % 2 == 1 {
                            let deleted = try await first.send("DELETE", "/api/tasks/\(task)/preview", token: deployer)
                            check(deleted.status == 200, "\(task): delete answered \(deleted.status)")
                            let gone = try await second.send("GET", "/api/tasks/\(task)/preview", token: reader)
                            check(gone.status == 404, "\(task): the other replica answered \(gone.status) after the delete")
                        }
                    }
                    return failures
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        done.set()
        let statuses = try await polls
        #expect(failures.isEmpty, "\(failures)")
        #expect(statuses.count >= 4, "the pollers listed \(statuses.count) times")
        #expect(statuses.allSatisfy { $0 == 200 }, "list answers: \(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")

        // Both replicas list exactly what the remote holds.
        let onRemote = Set(try r.remote.git(["ls-tree", "-d", "--name-only", "main:preview"]).split(separator: "\n")
            .map { String($0.dropFirst("task-".count)) })
        for api in [a, b] {
            let list = try await api.send("GET", "/api/previews?limit=1000", token: reader)
            #expect(Set(Self.listedTasks(list)) == onRemote)
            #expect(list.json?["commit"] as? String == r.remote.tip)
        }
    }

    /// Commits `count` previews of minimal but well-formed files straight to the remote (one
    /// push), named pg-0000, pg-0001, ...
    static func seedPreviews(_ remote: GitOpsRemote, count: Int) throws {
        let work = remote.work.appendingPathComponent("seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        try remote.server.clone(remote.repoURL, into: work)
        for i in 0..<count {
            let id = String(format: "pg-%04d", i)
            let dir = work.appendingPathComponent("preview/task-\(id)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let day = 1 + i % 28
            try """
                apiVersion: v1
                kind: Namespace
                metadata:
                  name: preview-task-\(id)
                  annotations:
                    aiworker.dev/expires-at: "2027-01-\(String(format: "%02d", day))T00:00:00Z"
                  labels:
                    aiworker.dev/project: aiworker

                """.write(to: dir.appendingPathComponent("namespace-preview-task-\(id).yaml"), atomically: false, encoding: .utf8)
            try """
                kind: Deployment
                spec:
                  template:
                    spec:
                      containers:
                        - name: backend
                          image: git.fuq.tv/admin/aiworker-backend:seed-\(i)

                """.write(to: dir.appendingPathComponent("deployment-backend.yaml"), atomically: false, encoding: .utf8)
        }
        _ = try remote.server.git(["add", "-A"], cwd: work)
        _ = try remote.server.git(["-c", "user.name=Seed", "-c", "user.email=seed@aiworker.dev", "commit", "--quiet", "-m", "seed previews"], cwd: work)
        _ = try remote.server.git(["push", "--quiet", "origin", "HEAD:refs/heads/main"], cwd: work)
    }

    @Test("paging through 2,500 previews with limit and continue returns each exactly once while previews are added and deleted")
    func pagingWhileWriting() async throws {
        let h = try ServerHarness()
        try Self.seedPreviews(h.remote, count: 2_500)
        let reader = h.tokens["reader"]!, deployer = h.tokens["deployer"]!
        let result = try await h.withServer { api, _ in
            var seen: [String] = []
            var token: String?
            var deleted: [String] = [], added: [String] = []
            var pages = 0
            repeat {
                let path = "/api/previews?limit=100" + (token.map { "&continue=\($0)" } ?? "")
                let page = try await api.send("GET", path, token: reader)
                try #require(page.status == 200, "\(String(decoding: page.data, as: UTF8.self))")
                seen += Self.listedTasks(page)
                token = page.json?["continue"] as? String
                pages += 1
                // Between pages, one preview goes and one comes: alternately ahead of the page
                // just read and behind it.
                let ahead = pages % 2 == 0
                let victim = String(format: "pg-%04d", ahead ? min(2_499, pages * 100 + 50) : max(0, pages * 100 - 30))
                if !deleted.contains(victim) {
                    let gone = try await api.send("DELETE", "/api/tasks/\(victim)/preview", token: deployer)
                    try #require(gone.status == 200, "delete \(victim): \(gone.status)")
                    deleted.append(victim)
                }
                let newcomer = String(format: "pg-%04da", ahead ? min(2_499, pages * 100 + 60) : max(0, pages * 100 - 60))
                let made = try await api.send("POST", "/api/tasks/\(newcomer)/deploy-preview", token: deployer, json: Self.body("new"))
                try #require(made.status == 201, "deploy \(newcomer): \(made.status)")
                added.append(newcomer)
            } while token != nil && pages < 100
            return (seen, deleted, added, pages)
        }
        let (seen, deleted, added, pages) = result
        let counts = Dictionary(grouping: seen, by: { $0 }).mapValues(\.count)
        #expect(counts.values.allSatisfy { $0 == 1 }, "listed twice: \(counts.filter { $0.value > 1 }.keys.sorted())")
        let throughout = Set((0..<2_500).map { String(format: "pg-%04d", $0) }).subtracting(deleted)
        #expect(throughout.isSubset(of: Set(seen)), "never listed: \(throughout.subtracting(seen).sorted().prefix(10))")
        #expect(Set(seen).isSubset(of: throughout.union(deleted).union(added)), "listed but never existed")
        #expect(seen == seen.sorted(), "pages follow task id order")
        #expect(pages >= 25, "\(pages) pages")
        #expect(deleted.count >= 20 && added.count >= 20)
    }

    @Test("list parameters: limit, continue, project and expiringBefore are checked and applied; the CLI pages the same way")
    func listParameters() async throws {
        let h = try ServerHarness()
        try Self.seedPreviews(h.remote, count: 30)
        let reader = h.tokens["reader"]!
        try await h.withServer { api, _ in
            for (query, code) in [("limit=0", "invalid_limit"), ("limit=1001", "invalid_limit"), ("limit=ten", "invalid_limit"),
                                  ("continue=bm90LWEtdG9rZW4", "invalid_continue"), ("continue=%25%25", "invalid_continue"),
                                  ("expiringBefore=tomorrow", "invalid_expiring_before"), ("project=Bad_Name", "invalid_project")] {
                let answer = try await api.send("GET", "/api/previews?\(query)", token: reader)
                #expect(answer.status == 400 && answer.errorCode == code, "\(query): \(answer.status) \(answer.errorCode ?? "-")")
            }
            let first = try await api.send("GET", "/api/previews?limit=7", token: reader)
            #expect(Self.listedTasks(first) == (0..<7).map { String(format: "pg-%04d", $0) })
            #expect(first.json?["count"] as? Int == 7 && first.json?["total"] as? Int == 30)
            let all = try await api.send("GET", "/api/previews", token: reader)
            #expect(Self.listedTasks(all).count == 30 && all.json?["continue"] == nil, "the last page has no continue")
            // Seeded expiries run 2027-01-01, -02, ... by index: those before the 4th are days 1 to 3.
            let soon = try await api.send("GET", "/api/previews?expiringBefore=2027-01-04T00:00:00Z&limit=1000", token: reader)
            #expect(Set(Self.listedTasks(soon)) == Set([0, 1, 2, 28, 29].map { String(format: "pg-%04d", $0) }))
            let other = try await api.send("GET", "/api/previews?project=shop", token: reader)
            #expect(Self.listedTasks(other).isEmpty && other.json?["total"] as? Int == 0)
        }
        let cli = try h.remote.manifestor(["previews", "--limit", "12", "--config", h.remote.config(name: "cli", cache: "cli-cache").path])
        #expect(cli.status == 0, "\(cli.stderr)")
        let lines = cli.stdout.split(separator: "\n")
        #expect(lines.count == 13 && lines.last?.hasPrefix("continue: ") == true, "\(cli.stdout)")
        let every = try h.remote.manifestor(["previews", "--limit", "12", "--all", "--config", h.remote.config(name: "cli", cache: "cli-cache").path])
        #expect(every.status == 0 && every.stdout.split(separator: "\n").count == 30, "\(every.stdout)\(every.stderr)")
    }

    @Test("reads beside the git thread keep answering while the cache is packed under them (a small packing threshold)")
    func readsWhilePacking() async throws {
        let h = try ServerHarness()
        let tokensFile = try h.writeTokensFile()
        let file = try h.remote.config(name: "packing", cache: "packing-cache", extra: "server: {tokensFile: \(tokensFile.path)}\n")
        let text = try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "  timeoutSeconds: 5\n", with: "  timeoutSeconds: 5\n  packLooseObjects: 20\n")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let serve = try ServeProcess(config: file.path, log: h.remote.work.appendingPathComponent("packing.log"))
        defer {
            kill(serve.process.processIdentifier, SIGTERM)
            _ = serve.waitForExit(seconds: 60)
        }
        let reader = h.tokens["reader"]!, deployer = h.tokens["deployer"]!
        let api = serve.api
        let failures: [String] = try await withThrowingTaskGroup(of: [String].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var failures: [String] = []
                    for n in 0..<8 {
                        let task = "pk-\(writer)-\(n)"
                        let made = try await api.send("POST", "/api/tasks/\(task)/deploy-preview", token: deployer, json: Self.body("v\(n)"))
                        if made.status != 201 { failures.append("\(task): deploy \(made.status)") }
                        for path in ["/api/tasks/\(task)/preview", "/api/previews?limit=1000", "/api/environments/staging",
                                     "/api/environments/staging/history", "/api/projects"] {
                            let read = try await api.send("GET", path, token: reader)
                            if read.status != 200 { failures.append("\(path) after \(task): \(read.status) \(String(decoding: read.data, as: UTF8.self))") }
                        }
                    }
                    return failures
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(failures.isEmpty, "\(failures)")
        let packs = try FileManager.default.contentsOfDirectory(atPath: h.remote.work.appendingPathComponent("packing-cache/repo.git/objects/pack").path)
        #expect(packs.contains { $0.hasSuffix(".pack") }, "the cache was packed: \(packs)")
        let list = try await api.send("GET", "/api/previews?limit=1000", token: reader)
        #expect(Self.listedTasks(list).filter { $0.hasPrefix("pk-") }.count == 32)
    }
}


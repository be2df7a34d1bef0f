import Foundation
import GitOps
import HTTPTypes
import HummingbirdTesting
import Testing

// Issue "Safe retries and dry runs", against a real smart-HTTP git server and a real registry:
//  1. release A, release B, rollback, rollback, rollback        → retriedRollbackOverHTTP, retriedRollbackOverCLI
//  2. a stale `expected` is 409 and commits nothing             → staleExpectedIsRefused
//  3. a dry run answers what the real run then commits          → dryRunsAnswerWhatTheWriteCommits
//  4. diff staging production names what a promote changes     → diffNamesWhatPromoteChanges
@Suite("Safe retries and dry runs", .serialized)
struct SafeRetryTests {
    /// Releases A and B promoted to production; answers the digests of each.
    static func twoReleases(_ world: EnvironmentWorld) async throws -> (a: [String: String], b: [String: String]) {
        let a = try await world.deployStaging(tag: "a")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        let b = try await world.deployStaging(tag: "b")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        return (a, b)
    }

    static func pinned(_ world: EnvironmentWorld, _ digests: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: digests.map { ($0.key, world.pinned($0.key, $0.value)) })
    }

    @Test("over HTTP: the second and third rollback to previous change nothing; production still runs A; named commits still work")
    func retriedRollbackOverHTTP() async throws {
        let world = try await EnvironmentWorld.start()
        let (a, b) = try await Self.twoReleases(world)
        let releaseB = try #require(try world.tip())
        try await world.withServer { client, tokens in
            let first = try await APICall.send(client, .post, "/api/environments/production/rollback", token: tokens.releaseManager,
                                               json: #"{"to": "previous"}"#)
            #expect(first.status == .created, "\(first.text)")
            #expect(try world.deploymentImages("main", "production/aiworker") == Self.pinned(world, a))
            let tip = try world.tip()
            for _ in 0..<2 {
                let again = try await APICall.send(client, .post, "/api/environments/production/rollback", token: tokens.releaseManager,
                                                   json: #"{"to": "previous"}"#)
                #expect(again.status == .ok, "\(again.text)")
                #expect(try again.decode(EnvironmentAnswer.self).changed == false)
                #expect(try world.tip() == tip)
                #expect(try world.deploymentImages("main", "production/aiworker") == Self.pinned(world, a))
            }
            // Naming a commit is unaffected: B comes back when asked for by name.
            let named = try await APICall.send(client, .post, "/api/environments/production/rollback", token: tokens.releaseManager,
                                               json: #"{"to": "\#(releaseB)"}"#)
            #expect(named.status == .created, "\(named.text)")
            #expect(try world.deploymentImages("main", "production/aiworker") == Self.pinned(world, b))
        }
    }

    @Test("over the CLI: the retried rollback prints unchanged and production still runs A")
    func retriedRollbackOverCLI() async throws {
        let world = try await EnvironmentWorld.start()
        let (a, _) = try await Self.twoReleases(world)
        let first = try EnvironmentCLI.run(world, ["rollback", "production", "--to", "previous"])
        #expect(first.status == 0 && first.stdout.contains(" rollback(production/aiworker): "), "\(first.stdout) \(first.stderr)")
        for _ in 0..<2 {
            let again = try EnvironmentCLI.run(world, ["rollback", "production", "--to", "previous"])
            #expect(again.status == 0 && again.stdout.hasPrefix("unchanged "), "\(again.stdout) \(again.stderr)")
        }
        #expect(try world.deploymentImages("main", "production/aiworker") == Self.pinned(world, a))
    }

    @Test("a stale expected on staging deploy, promote and rollback is 409 naming the current commit; the right one succeeds")
    func staleExpectedIsRefused() async throws {
        let world = try await EnvironmentWorld.start()
        _ = try await Self.twoReleases(world)
        let c = try world.push("backend", tag: "c")
        try await world.withServer { client, tokens in
            func last(_ env: String) async throws -> String {
                let read = try await APICall.send(client, .get, "/api/environments/\(env)", token: tokens.reader)
                return try #require(try read.decode(EnvironmentAnswer.self).commit)
            }
            let stale = try world.gitOut(["log", "--format=%H", "-n", "1", "--skip", "1", "main", "--", "staging/aiworker"])
            let writes: [(String, String, String, HTTPTypes.HTTPResponse.Status)] = [
                ("staging", "/api/environments/staging/deploy", #"{"images": {"backend": "\#(c.ref)"}, "expected": "EXPECTED"}"#, .created),
                ("production", "/api/promote", #"{"from": "staging", "to": "production", "expected": "EXPECTED"}"#, .created),
                ("production", "/api/environments/production/rollback", #"{"to": "previous", "expected": "EXPECTED"}"#, .created),
            ]
            for (env, path, body, success) in writes {
                let tip = try world.tip()
                let current = try await last(env)
                let wrong = env == "staging" ? stale : try world.gitOut(["rev-parse", "\(current)~1"])
                let refused = try await APICall.send(client, .post, path, token: tokens.releaseManager,
                                                     json: body.replacingOccurrences(of: "EXPECTED", with: String(wrong.prefix(12))))
                #expect(refused.status == .conflict && refused.errorCode == "conflict", "\(path): \(refused.text)")
                #expect(refused.errorMessage.contains(current), "\(path): \(refused.errorMessage)")
                #expect(try world.tip() == tip, "\(path) committed on a stale expected")
                let accepted = try await APICall.send(client, .post, path, token: tokens.releaseManager,
                                                      json: body.replacingOccurrences(of: "EXPECTED", with: current))
                #expect(accepted.status == success, "\(path): \(accepted.text)")
            }
            let garbage = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                 json: #"{"from": "staging", "to": "production", "expected": "HEAD"}"#)
            #expect(garbage.status == .badRequest && garbage.errorCode == "invalid_expected")
        }
        let tip = try world.tip()
        let cli = try EnvironmentCLI.run(world, ["rollback", "production", "--to", "previous", "--expected", String(repeating: "0", count: 12)])
        #expect(cli.status == 1 && cli.stderr.contains("expected: production/aiworker/ was last changed by"), "\(cli.stderr)")
        #expect(try world.tip() == tip)
    }

    @Test("every write with dryRun answers the paths and message the real run then commits, and leaves the tip where it was")
    func dryRunsAnswerWhatTheWriteCommits() async throws {
        let world = try await EnvironmentWorld.start()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try await world.deployStaging(tag: "v1")
        let v2 = try world.push("backend", tag: "v2")
        try await world.withServer(clock: { now }) { client, tokens in
            let writes: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/api/tasks/dry1/deploy-preview", #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:pr-1"}, "dryRun": true}"#),
                (.post, "/api/promote", #"{"from": "staging", "to": "production", "dryRun": true}"#),
                (.post, "/api/environments/staging/deploy", #"{"images": {"backend": "\#(v2.ref)"}, "dryRun": true}"#),
                (.post, "/api/promote", #"{"from": "staging", "to": "production", "dryRun": true}"#),
                (.post, "/api/environments/production/rollback", #"{"to": "previous", "dryRun": true}"#),
                (.delete, "/api/tasks/dry1/preview?dryRun=true", nil),
            ]
            for (method, path, body) in writes {
                let tip = try world.tip()
                let dry = try await APICall.send(client, method, path, token: tokens.releaseManager, json: body)
                #expect(dry.status == .ok, "\(path): \(dry.text)")
                #expect(try world.tip() == tip, "\(path): the dry run committed")
                let planned = dry.json
                #expect(planned["dryRun"] as? Bool == true && planned["base"] as? String == tip)
                let real = try await APICall.send(client, method, path.replacingOccurrences(of: "?dryRun=true", with: ""),
                                                  token: tokens.releaseManager, json: body?.replacingOccurrences(of: #", "dryRun": true"#, with: ""))
                #expect(real.status == .created || real.status == .ok, "\(path): \(real.text)")
                #expect(try world.gitOut(["rev-parse", "main~1"]) == tip, "\(path): not one commit")
                let message = try world.message().trimmingCharacters(in: .whitespacesAndNewlines)
                #expect((planned["message"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) == message, "\(path)")
                let paths = try #require(planned["paths"] as? [String: [String]])
                let status = try world.gitOut(["diff", "--name-status", "main~1", "main"]).split(separator: "\n").map { line in
                    let parts = line.split(separator: "\t"); return (String(parts[0]), String(parts[1]))
                }
                #expect(paths["added"] == status.filter { $0.0 == "A" }.map(\.1), "\(path)")
                #expect(paths["changed"] == status.filter { $0.0 == "M" }.map(\.1), "\(path)")
                #expect(paths["removed"] == status.filter { $0.0 == "D" }.map(\.1), "\(path)")
                #expect(!status.isEmpty)
            }
        }
        // gc, from the CLI.
        _ = try EnvironmentCLI.run(world, ["deploy-preview", "old", "--image", "backend=git.fuq.tv/admin/aiworker-backend:pr-2", "--ttl", "1h"])
        let later = "2100-01-01T00:00:00Z"
        let tip = try world.tip()
        let dry = try EnvironmentCLI.run(world, ["gc", "--now", later, "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.hasPrefix("dry-run gc: remove 1 expired preview (task-old)"), "\(dry.stdout) \(dry.stderr)")
        #expect(dry.stdout.contains("\nD preview/task-old/namespace-preview-task-old.yaml\n"))
        #expect(try world.tip() == tip)
        #expect(try EnvironmentCLI.run(world, ["gc", "--now", later]).status == 0)
        let removed = try world.gitOut(["diff", "--name-only", "--diff-filter=D", "main~1", "main"]).split(separator: "\n").map { "D \($0)" }
        #expect(dry.stdout.split(separator: "\n").dropFirst().map(String.init) == removed)
    }

    @Test("diff staging production names exactly the services the following promote changes")
    func diffNamesWhatPromoteChanges() async throws {
        let world = try await EnvironmentWorld.start()
        _ = try await Self.twoReleases(world)
        let c = try world.push("backend", tag: "c")
        let client = try #require(world.config.makeRegistryClient())
        let pinned = try await client.pin(["backend": c.ref], field: "images")
        _ = try await world.committer().submit(DeployStaging(images: pinned.images, imageTags: pinned.tags))
        let cli = try EnvironmentCLI.run(world, ["diff", "staging", "production", "--json"])
        #expect(cli.status == 0, "\(cli.stderr)")
        let diff = try JSONDecoder().decode(DiffAnswer.self, from: Data(cli.stdout.utf8))
        #expect(diff.changes.map(\.service) == ["backend"])
        #expect(diff.paths.changed == ["production/aiworker/deployment-backend.yaml"])
        let text = try EnvironmentCLI.run(world, ["diff", "staging", "production"])
        #expect(text.stdout.hasPrefix("backend: \(world.registry.host)/aiworker-backend@"), "\(text.stdout)")
        try await world.withServer { http, tokens in
            let over = try await APICall.send(http, .get, "/api/environments/production/diff?from=staging", token: tokens.reader)
            #expect(try over.decode(DiffAnswer.self).changes == diff.changes, "\(over.text)")
        }
        let promoted = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        #expect(promoted.answer.changes == diff.changes)
        let none = try EnvironmentCLI.run(world, ["diff", "staging", "production"])
        #expect(none.stdout == "no difference\n")
    }
}

import Foundation
import GitOps
import Templates
import Testing

// Issue "Signed commits", against the real smart-HTTP git server, verified by git itself:
//  1. every kind of write signed; git verify-commit accepts each; tampering is caught → everyWriteIsSigned
//  2. signing off: the commit git itself writes for the same inputs                  → unsignedCommitsAreGits
//  a key that can't be used fails at load, naming the file, never printing the key   → badKeysFailAtStart
@Suite("Signed commits", .serialized)
struct SigningTests {
    /// A fresh unencrypted Ed25519 key pair (`ssh-keygen`), and an allowed-signers file for it.
    static func keyPair(_ dir: URL, passphrase: String = "") throws -> (key: URL, allowedSigners: URL) {
        let key = dir.appendingPathComponent("signing-key")
        let made = try run("/usr/bin/env", ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "manifestor", "-f", key.path])
        #expect(made.status == 0, "ssh-keygen: \(made.stderr)")
        let publicKey = try String(contentsOf: URL(fileURLWithPath: key.path + ".pub"), encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        let allowed = dir.appendingPathComponent("allowed-signers")
        try "manifestor@aiworker.dev namespaces=\"git\" \(publicKey)\n".write(to: allowed, atomically: true, encoding: .utf8)
        return (key, allowed)
    }

    static func verify(_ world: EnvironmentWorld, _ commit: String, allowed: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        try run("/usr/bin/env", ["git", "--git-dir", world.bare, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=\(allowed.path)",
                                 "verify-commit", commit])
    }

    @Test("every kind of write, server and CLI, is signed and git verify-commit accepts it; an altered message or tree is refused")
    func everyWriteIsSigned() async throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (key, allowed) = try Self.keyPair(dir)
        let world = try await EnvironmentWorld.start(extraConfig: "signing: {sshKeyFile: \(key.path)}\n")
        #expect(world.config.signer != nil)
        // init (the seed), staging deploys, promotion direct and for review, rollback, previews, a
        // project, expiry, and a CLI write.
        try await world.deployStaging(tag: "v1")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        try await world.deployStaging(tag: "v2")
        let reviewed = try await world.committer().submitForReview(try Promote(from: "staging", to: "production"), catalog: world.catalog) {
            reviewBranchName(target: .production, commit: $0)
        }
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        _ = try await world.committer().submit(Rollback(environment: .production, target: .previous))
        _ = try await world.committer().submit(DeployPreview(taskID: "s1", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-1"]))
        _ = try await world.committer().submit(DeployPreview(taskID: "s2", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-2"], ttl: "1h"))
        _ = try await world.committer().submit(DeletePreview(taskID: "s1"))
        let document = try ProjectDocument.decode(#"{"services": {"web": {"port": 8080, "path": "/"}}}"#, source: "body")
        _ = try await world.committer().submit(RegisterProject(project: "shop", document: document))
        _ = try await world.committer().submit(ExpirePreviews(now: Date(timeIntervalSinceNow: 86_400 * 2)))
        let cli = try EnvironmentCLI.run(world, ["deploy-preview", "s3", "--image", "backend=git.fuq.tv/admin/aiworker-backend:pr-3"])
        #expect(cli.status == 0, "\(cli.stderr)")

        let branch = try #require(reviewed.branch)
        let commits = Set(try world.gitOut(["rev-list", "main", "refs/heads/\(branch)"]).split(separator: "\n").map(String.init))
        let operations = Set(try world.gitOut(["log", "--format=%(trailers:key=Operation,valueonly)", "main"]).split(separator: "\n").map(String.init))
        #expect(operations.isSuperset(of: ["init", "deploy-staging", "promote", "rollback", "deploy-preview", "delete-preview",
                                           "register-project", "gc"]), "\(operations)")
        #expect(commits.count >= 12)
        for commit in commits {
            let result = try Self.verify(world, commit, allowed: allowed)
            #expect(result.status == 0, "\(commit): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains("Good \"git\" signature for manifestor@aiworker.dev"), "\(commit): \(result.stderr)")
        }
        // Tampering after signing: the same signature over another message, or another tree, fails.
        let tip = try world.gitOut(["rev-parse", "main"])
        let raw = try world.gitOut(["cat-file", "commit", tip]) + "\n"
        let otherTree = try world.gitOut(["rev-parse", "main~1^{tree}"])
        let tampered = [
            raw.replacingOccurrences(of: "preview(task-s3): deploy", with: "preview(task-s3): delete"),
            raw.replacingOccurrences(of: try world.gitOut(["rev-parse", "main^{tree}"]), with: otherTree),
        ]
        for text in tampered {
            #expect(text != raw)
            let file = dir.appendingPathComponent("tampered")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let id = try world.gitOut(["hash-object", "-t", "commit", "-w", file.path])
            let result = try Self.verify(world, id, allowed: allowed)
            #expect(result.status != 0, "a tampered commit verified: \(result.stderr)")
        }
    }

    @Test("signing off: no signature header, and exactly the commit git writes for the same tree, parent, identity, clock and message")
    func unsignedCommitsAreGits() async throws {
        let world = try await EnvironmentWorld.start()
        #expect(world.config.signer == nil)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try await world.committer(clock: { now }).submit(DeployPreview(taskID: "u1", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-1"]))
        let tip = try world.gitOut(["rev-parse", "main"])
        let raw = try world.gitOut(["cat-file", "commit", tip])
        #expect(!raw.contains("gpgsig"))
        let message = try world.git.git(["--git-dir", world.bare, "log", "-1", "--format=%B", tip])
        let file = world.dir.appendingPathComponent("message")
        try String(message.dropLast()).write(to: file, atomically: true, encoding: .utf8)
        let identity = ["GIT_AUTHOR_NAME": "Manifestor", "GIT_AUTHOR_EMAIL": "manifestor@aiworker.dev", "GIT_AUTHOR_DATE": "1800000000 +0000",
                        "GIT_COMMITTER_NAME": "Manifestor", "GIT_COMMITTER_EMAIL": "manifestor@aiworker.dev", "GIT_COMMITTER_DATE": "1800000000 +0000"]
        let made = try run("/usr/bin/env", ["git", "--git-dir", world.bare, "commit-tree", try world.gitOut(["rev-parse", "main^{tree}"]),
                                            "-p", try world.gitOut(["rev-parse", "main~1"]), "-F", file.path], env: identity)
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == tip)
    }

    @Test("a key that can't be used fails when the config is loaded, naming the file and the rule; the key is never printed")
    func badKeysFailAtStart() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let encrypted = try Self.keyPair(dir, passphrase: "secret-passphrase").key
        let garbage = dir.appendingPathComponent("garbage")
        try "not a key\n".write(to: garbage, atomically: true, encoding: .utf8)
        let rsa = dir.appendingPathComponent("rsa")
        #expect(try run("/usr/bin/env", ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa.path]).status == 0)
        let cases: [(URL, String)] = [
            (dir.appendingPathComponent("missing"), "cannot be read"), (garbage, "is not an OpenSSH private key"),
            (encrypted, "is encrypted"), (rsa, "must be an Ed25519 key"),
        ]
        for (key, rule) in cases {
            let config = dir.appendingPathComponent("config.yaml")
            try "repository: {url: \(dir.path)/remote.git}\nsigning: {sshKeyFile: \(key.path)}\n".write(to: config, atomically: true, encoding: .utf8)
            #expect {
                _ = try ManifestorConfig.load(path: config.path, environment: [:])
            } throws: { error in
                "\(error)".contains("signing.sshKeyFile") && "\(error)".contains(key.path) && "\(error)".contains(rule)
            }
            let serve = try run(EnvironmentCLI.binary, ["serve", "--config", config.path], env: [:], timeout: 60)
            #expect(serve.status == 1 && serve.stderr.contains(rule), "\(serve.stderr)")
            let secret = (try? String(contentsOf: key, encoding: .utf8)) ?? "not a key"
            let body = secret.split(separator: "\n").dropFirst().first.map(String.init) ?? secret
            #expect(!serve.stderr.contains(body) && !serve.stdout.contains(body))
        }
    }
}

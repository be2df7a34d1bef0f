import Foundation
import GitOps
import GitStore
import GitWire
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import KubeModel
import ManifestorServer
import Templates
import Testing

// Issue 5's acceptance list, against a real smart-HTTP git server and a real registry:
//  1. staging tags → pinned digests → production               → promotionPinsRegistryDigests (+ CLI: cliFlow)
//  2. --review leaves main untouched; merging gives the same   → reviewBranch
//  3. rollback to previous restores byte for byte, log kept    → rollbackPrevious, rollbackToCommit
//  4. gc --now removes exactly the expired previews, one commit → EnvironmentCLITests.gcRemovesExactlyExpired, expirySweep
//  5. history lists operation, author, requester, images      → historyListsOperations
//  6. clear 4xx/503 and nothing committed                      → unknownTag, registryDown, unknownEnvironment,
//                                                                 rollbackTargets, stagingTagsNeedAllowTag

/// A gitops repository on a real git server, seeded from gitops-skeleton/, a real registry,
/// and a config file that points at both.
final class EnvironmentWorld: @unchecked Sendable {
    static let repo = "gitops"
    let git: GitServer
    let registry: Registry
    let dir: URL
    let configPath: String
    let config: ManifestorConfig
    let catalog: Catalog

    private init(git: GitServer, registry: Registry, dir: URL, configPath: String, config: ManifestorConfig, catalog: Catalog) {
        self.git = git; self.registry = registry; self.dir = dir; self.configPath = configPath; self.config = config; self.catalog = catalog
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// `useRegistry: false` leaves `registry:` out of the config (tags are then committed as they are).
    /// `extraConfig` is appended to the config file (e.g. a `signing:` section).
    static func start(useRegistry: Bool = true, extraConfig: String = "") async throws -> EnvironmentWorld {
        let git = try GitServer.start()
        let url = try git.createRepo(repo)
        let registry = try Registry.start()
        let dir = try RenderFixtures.temporaryDirectory()
        try git.password.write(to: dir.appendingPathComponent("git-token"), atomically: true, encoding: .utf8)
        var yaml = """
            repository:
              url: \(url)
              branch: main
              username: \(GitServer.user)
              tokenFile: git-token
              cache: cache
            author: {name: Manifestor, email: manifestor@aiworker.dev}
            templates: \(repoRoot().appendingPathComponent("templates").path)

            """
        if useRegistry { yaml += "registry:\n  url: \(registry.url)\n" }
        yaml += extraConfig
        let configPath = dir.appendingPathComponent("config.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ManifestorConfig.load(path: configPath)
        let catalog = try RenderFixtures.catalog()
        let world = EnvironmentWorld(git: git, registry: registry, dir: dir, configPath: configPath, config: config, catalog: catalog)
        _ = try await world.committer().submit(try SeedRepository(skeleton: repoRoot().appendingPathComponent("gitops-skeleton")))
        return world
    }

    func committer(clock: @escaping @Sendable () -> Date = Date.init) -> Committer {
        let catalog = self.catalog
        return Committer(settings: Committer.Settings(config: config), catalog: { catalog }, clock: clock)
    }

    // MARK: Registry

    /// Pushes `aiworker-<service>:<tag>` and returns (tag reference, digest).
    func push(_ service: String, tag: String) throws -> (ref: String, digest: String) {
        let digest = try registry.push(name: "aiworker-\(service)", tag: tag)
        return (registry.reference(name: "aiworker-\(service)", tag: tag), digest)
    }

    func pinned(_ service: String, _ digest: String) -> String { "\(registry.host)/aiworker-\(service)@\(digest)" }

    /// Deploys `tag` of both services to staging through the committer, pinned by the registry;
    /// returns service → digest.
    @discardableResult
    func deployStaging(tag: String) async throws -> [String: String] {
        var refs: [String: String] = [:]
        var digests: [String: String] = [:]
        for service in ["backend", "frontend"] {
            let pushed = try push(service, tag: tag)
            refs[service] = pushed.ref
            digests[service] = pushed.digest
        }
        let client = try #require(config.makeRegistryClient())
        let pinned = try await client.pin(refs, field: "images")
        _ = try await committer().submit(DeployStaging(images: pinned.images, imageTags: pinned.tags, requestedBy: "ci"))
        return digests
    }

    // MARK: The server's side of the repository

    var bare: String { git.bareRepoPath(Self.repo).path }

    func tip(_ ref: String = "refs/heads/main") throws -> String? { try git.revParse(repo: Self.repo, ref) }

    func gitOut(_ args: [String]) throws -> String {
        try git.git(["--git-dir", bare] + args).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The tree id of `path` at `rev`: equal ids mean byte-identical content.
    func treeID(_ rev: String, _ path: String) throws -> String { try gitOut(["rev-parse", "\(rev):\(path)"]) }

    func show(_ rev: String, _ path: String) throws -> String { try git.git(["--git-dir", bare, "show", "\(rev):\(path)"]) }

    func commits(_ rev: String = "main") throws -> [String] { try gitOut(["rev-list", rev]).split(separator: "\n").map(String.init) }

    func message(_ rev: String = "main") throws -> String { try git.git(["--git-dir", bare, "log", "-1", "--format=%B", rev]) }

    func files(_ rev: String, _ directory: String) throws -> [String] {
        try gitOut(["ls-tree", "--name-only", "\(rev):\(directory)"]).split(separator: "\n").map(String.init)
    }

    /// The `image:` of every Deployment in `directory` at `rev`.
    func deploymentImages(_ rev: String, _ directory: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for name in try files(rev, directory) where name.hasPrefix("deployment-") {
            let yaml = try show(rev, "\(directory)/\(name)")
            let line = try #require(yaml.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("image: ") })
            out[String(name.dropFirst("deployment-".count).dropLast(".yaml".count))] =
                line.trimmingCharacters(in: .whitespaces).dropFirst("image: ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        return out
    }

    // MARK: The HTTP front

    struct Tokens: Sendable {
        var reader = TokenStore.generateToken()
        var deployer = TokenStore.generateToken()
        var releaseManager = TokenStore.generateToken()
    }

    /// The real router on a real socket (`.live`), with one token per role.
    func withServer(clock: @escaping @Sendable () -> Date = Date.init,
                    _ body: @escaping @Sendable (any TestClientProtocol, Tokens) async throws -> Void) async throws {
        let tokens = Tokens()
        let store = try TokenStore(entries: [
            .init(name: "reader", role: .reader, sha256: TokenStore.sha256Hex(tokens.reader)),
            .init(name: "ci", role: .deployer, sha256: TokenStore.sha256Hex(tokens.deployer)),
            .init(name: "release", role: .releaseManager, sha256: TokenStore.sha256Hex(tokens.releaseManager)),
        ])
        let catalog = self.catalog
        let service = ManifestorService(config: config, catalog: { catalog }, clock: clock)
        let app = Application(router: buildRouter(service: service, tokens: store),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(client, tokens) }
    }
}

/// One HTTP call: status, headers and body.
struct APICall: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: Data

    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String { ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }
    var text: String { String(decoding: body, as: UTF8.self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: body) }

    static func send(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String,
                     json: String? = nil) async throws -> APICall {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if json != nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        return APICall(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
    }
}

@Suite("Staging deploys, promotion, rollback, history and expiry")
struct EnvironmentTests {
    // MARK: 1. Digests from the registry reach production

    @Test("deploy staging with tags, promote: every production Deployment names the digest the registry returned")
    func promotionPinsRegistryDigests() async throws {
        let world = try await EnvironmentWorld.start()
        let backend = try world.push("backend", tag: "v1")
        let frontend = try world.push("frontend", tag: "v1")
        try await world.withServer { client, tokens in
            let deploy = try await APICall.send(client, .post, "/api/environments/staging/deploy", token: tokens.deployer,
                                                json: #"{"images": {"backend": "\#(backend.ref)", "frontend": "\#(frontend.ref)"}}"#)
            #expect(deploy.status == .created, "\(deploy.text)")
            let staged = try deploy.decode(EnvironmentAnswer.self)
            #expect(staged.images == ["backend": world.pinned("backend", backend.digest), "frontend": world.pinned("frontend", frontend.digest)])
            #expect(staged.tags == ["backend": "v1", "frontend": "v1"])
            #expect(try world.show("main", "staging/aiworker/deployment-backend.yaml").contains("aiworker.dev/image-tag: v1"))
            #expect(try world.message().hasPrefix("deploy(staging/aiworker): backend@sha256:\(backend.digest.dropFirst(7).prefix(7))"))

            // A deployer may not promote.
            let forbidden = try await APICall.send(client, .post, "/api/promote", token: tokens.deployer, json: #"{"from": "staging", "to": "production"}"#)
            #expect(forbidden.status == .forbidden)

            let promote = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                 json: #"{"from": "staging", "to": "production"}"#)
            #expect(promote.status == .created, "\(promote.text)")
            let answer = try promote.decode(PromotionAnswer.self)
            #expect(answer.changed && answer.branch == nil)
            #expect(answer.commit == (try world.tip()))
            #expect(answer.changes.map(\.service) == ["backend", "frontend"])
            #expect(answer.changes.allSatisfy { $0.from == nil })

            let production = try world.deploymentImages("main", "production/aiworker")
            #expect(production.keys.sorted() == ["backend", "frontend"])
            let digests = ["backend": backend.digest, "frontend": frontend.digest]
            for (service, image) in production {
                #expect(image == world.pinned(service, digests[service]!), "\(service): \(image)")
                #expect(image.hasSuffix("@\(digests[service]!)"))
            }
            #expect(try world.show("main", "production/aiworker/deployment-frontend.yaml").contains("aiworker.dev/image-tag: v1"))

            let message = try world.message()
            #expect(message.hasPrefix("promote(staging/aiworker→production/aiworker): backend@sha256:\(backend.digest.dropFirst(7).prefix(7)), frontend@sha256:"))
            let trailers = CommitMessage.trailers(of: message)
            #expect(trailers.filter { $0.0 == "Operation" }.map(\.1) == ["promote"])
            #expect(trailers.filter { $0.0 == "Requested-By" }.map(\.1) == ["release"])
            #expect(trailers.filter { $0.0 == "Image" }.map(\.1) == ["backend=\(world.pinned("backend", backend.digest))",
                                                                   "frontend=\(world.pinned("frontend", frontend.digest))"])
            #expect(trailers.filter { $0.0 == "Change" }.map(\.1) == [
                "backend: none → \(world.pinned("backend", backend.digest))",
                "frontend: none → \(world.pinned("frontend", frontend.digest))",
            ])

            // Nothing differs any more: no commit.
            let before = try world.commits().count
            let again = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager, json: #"{"from": "staging", "to": "production"}"#)
            #expect(again.status == .ok)
            #expect(try again.decode(PromotionAnswer.self).changed == false)
            #expect(try world.commits().count == before)

            // GET /api/environments/production: what it runs and the last commit.
            let status = try await APICall.send(client, .get, "/api/environments/production", token: tokens.reader)
            #expect(status.status == .ok)
            let env = try status.decode(EnvironmentAnswer.self)
            #expect(env.images == production)
            #expect(env.tags == ["backend": "v1", "frontend": "v1"])
            #expect(env.commit == answer.commit)
            #expect(env.subject?.hasPrefix("promote(staging/aiworker→production/aiworker)") == true)
        }
    }

    @Test("--service promotes only the named services; the others keep what production runs")
    func promoteOneService() async throws {
        let world = try await EnvironmentWorld.start()
        let v1 = try await world.deployStaging(tag: "v1")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        let v2 = try await world.deployStaging(tag: "v2")
        let outcome = try await world.committer().submit(try Promote(from: "staging", to: "production", services: ["backend"]))
        #expect(outcome.changed)
        #expect(outcome.answer.changes.map(\.service) == ["backend"])
        #expect(try world.deploymentImages("main", "production/aiworker") == [
            "backend": world.pinned("backend", v2["backend"]!), "frontend": world.pinned("frontend", v1["frontend"]!),
        ])
        #expect(outcome.subject == "promote(staging/aiworker→production/aiworker): backend@sha256:\(v2["backend"]!.dropFirst(7).prefix(7))")
    }

    // MARK: 2. Review branches

    @Test("review: main is untouched, the branch is pushed, and merging it gives the same production/ as a direct promotion")
    func reviewBranch() async throws {
        let world = try await EnvironmentWorld.start()
        try await world.deployStaging(tag: "v1")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        let v2 = try await world.deployStaging(tag: "v2")
        let mainBefore = try #require(try world.tip())
        let pushesBefore = try world.git.pushCount(repo: EnvironmentWorld.repo)

        try await world.withServer { client, tokens in
            let review = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                json: #"{"from": "staging", "to": "production", "review": true}"#)
            #expect(review.status == .ok, "\(review.text)")
            let answer = try review.decode(PromotionAnswer.self)
            let commit = try #require(answer.commit)
            let branch = try #require(answer.branch)
            #expect(branch == "promote/production/\(commit.prefix(12))")
            #expect(answer.changed)
            #expect(answer.changes.map(\.service) == ["backend", "frontend"])

            // main untouched; the branch is on the server, one commit on top of main's tip.
            #expect(try world.tip() == mainBefore)
            #expect(try world.tip("refs/heads/\(branch)") == commit)
            #expect(try world.gitOut(["rev-parse", "\(commit)^"]) == mainBefore)
            #expect(try world.git.pushCount(repo: EnvironmentWorld.repo) == pushesBefore + 1)
            #expect(try world.deploymentImages(commit, "production/aiworker")["backend"] == world.pinned("backend", v2["backend"]!))

            // Merge it as a reviewer would: a fast-forward.
            let clone = world.dir.appendingPathComponent("review-clone")
            try world.git.clone(world.git.repoURL(EnvironmentWorld.repo), into: clone)
            try world.git.git(["merge", "--ff-only", "--quiet", "origin/\(branch)"], cwd: clone)
            let merged = try world.git.git(["rev-parse", "HEAD:production/aiworker"], cwd: clone).trimmingCharacters(in: .whitespacesAndNewlines)

            // The same promotion, direct.
            let direct = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                json: #"{"from": "staging", "to": "production"}"#)
            #expect(direct.status == .created, "\(direct.text)")
            #expect(try world.treeID("main", "production/aiworker") == merged)
            #expect(try world.treeID("main", "production/aiworker") == (try world.treeID(commit, "production/aiworker")))
        }
    }

    // MARK: 3. Rollback

    @Test("rollback to previous restores production/ byte for byte and keeps every commit")
    func rollbackPrevious() async throws {
        let world = try await EnvironmentWorld.start()
        try await world.deployStaging(tag: "v1")
        let first = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        let firstCommit = try #require(first.commit).hex
        try await world.deployStaging(tag: "v2")
        let second = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        let secondCommit = try #require(second.commit).hex
        let history = try world.commits()
        #expect(try world.treeID(firstCommit, "production/aiworker") != (try world.treeID(secondCommit, "production/aiworker")))

        try await world.withServer { client, tokens in
            let forbidden = try await APICall.send(client, .post, "/api/environments/production/rollback", token: tokens.deployer,
                                                   json: #"{"to": "previous"}"#)
            #expect(forbidden.status == .forbidden)

            let call = try await APICall.send(client, .post, "/api/environments/production/rollback", token: tokens.releaseManager,
                                              json: #"{"to": "previous"}"#)
            #expect(call.status == .created, "\(call.text)")
            let answer = try call.decode(EnvironmentAnswer.self)
            let rollback = try #require(answer.commit)
            #expect(answer.restoredFrom == history[1])  // the state right before the second promotion
            #expect(try world.tip() == rollback)

            // Byte for byte: the same tree, hence the same blobs; and no file differs.
            #expect(try world.treeID(rollback, "production/aiworker") == (try world.treeID(firstCommit, "production/aiworker")))
            #expect(try world.gitOut(["diff", "--stat", firstCommit, rollback, "--", "production/aiworker"]).isEmpty)
            for name in try world.files(firstCommit, "production/aiworker") {
                #expect(try world.show(rollback, "production/aiworker/\(name)") == (try world.show(firstCommit, "production/aiworker/\(name)")))
            }
            // Nothing rewritten: one commit more, on top of everything there was.
            #expect(try world.commits() == [rollback] + history)
            let message = try world.message()
            #expect(message.hasPrefix("rollback(production/aiworker): to \(history[1].prefix(12)) (previous)"))
            let trailers = CommitMessage.trailers(of: message)
            #expect(trailers.contains { $0 == ("Operation", "rollback") })
            #expect(trailers.contains { $0 == ("Requested-By", "release") })
            #expect(trailers.filter { $0.0 == "Change" }.count == 2)
            #expect(answer.changes?.map(\.service) == ["backend", "frontend"])
        }
    }

    @Test("rollback to a commit restores production/ as that commit left it")
    func rollbackToCommit() async throws {
        let world = try await EnvironmentWorld.start()
        try await world.deployStaging(tag: "v1")
        let first = try #require(try await world.committer().submit(try Promote(from: "staging", to: "production")).commit).hex
        try await world.deployStaging(tag: "v2")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))
        try await world.deployStaging(tag: "v3")
        _ = try await world.committer().submit(try Promote(from: "staging", to: "production"))

        let outcome = try await world.committer().submit(Rollback(environment: .production, target: try .named(String(first.prefix(12)))))
        #expect(outcome.changed)
        #expect(outcome.answer.restoredFrom?.hex == first)
        #expect(try world.treeID("main", "production/aiworker") == (try world.treeID(first, "production/aiworker")))
        // Staging is not touched by a production rollback.
        #expect(try world.treeID("main", "staging/aiworker") == (try world.treeID("main~1", "staging/aiworker")))

        // Rolling back to what already runs changes nothing.
        let again = try await world.committer().submit(Rollback(environment: .production, target: try .named(first)))
        #expect(!again.changed)
    }

    // MARK: 5. History

    @Test("history lists each operation newest first, with author, requester, images and commit")
    func historyListsOperations() async throws {
        let world = try await EnvironmentWorld.start()
        let v1 = try await world.deployStaging(tag: "v1")
        let promote = try await world.committer().submit(try Promote(from: "staging", to: "production", requestedBy: "alice"))
        try await world.deployStaging(tag: "v2")
        let rollbackTarget = try #require(promote.commit)
        try await world.withServer { client, tokens in
            let promoted = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                  json: #"{"from": "staging", "to": "production", "requestedBy": "bob"}"#)
            #expect(promoted.status == .created)
            let rolledBack = try await APICall.send(client, .post, "/api/environments/production/rollback", token: tokens.releaseManager,
                                                    json: #"{"to": "\#(rollbackTarget.hex)"}"#)
            #expect(rolledBack.status == .created, "\(rolledBack.text)")

            let call = try await APICall.send(client, .get, "/api/environments/production/history", token: tokens.reader)
            #expect(call.status == .ok, "\(call.text)")
            let history = try call.decode(HistoryAnswer.self)
            #expect(history.environment == "production" && history.project == "aiworker" && history.path == "production/aiworker")
            // rollback, promote (bob), promote (alice): the seed's production/.gitkeep is not aiworker's
            #expect(history.entries.map(\.operation) == ["rollback", "promote", "promote"])
            #expect(history.entries.map(\.requestedBy) == ["release", "bob", "alice"])
            #expect(history.entries.allSatisfy { $0.author == "Manifestor <manifestor@aiworker.dev>" })
            let productionCommits = try world.gitOut(["log", "--format=%H", "main", "--", "production/aiworker"]).split(separator: "\n").map(String.init)
            #expect(history.entries.map(\.commit) == productionCommits)
            #expect(history.entries[2].commit == rollbackTarget.hex)
            #expect(history.entries[2].images == ["backend=\(world.pinned("backend", v1["backend"]!))",
                                                  "frontend=\(world.pinned("frontend", v1["frontend"]!))"])
            #expect(history.entries[0].images == history.entries[2].images)
            #expect(history.entries.allSatisfy { RFC3339.parse($0.date) != nil })
            #expect(history.entries[0].subject.hasPrefix("rollback(production/aiworker): to \(rollbackTarget.short)"))

            let limited = try await APICall.send(client, .get, "/api/environments/production/history?limit=1", token: tokens.reader)
            #expect(try limited.decode(HistoryAnswer.self).entries.map(\.operation) == ["rollback"])

            let staging = try await APICall.send(client, .get, "/api/environments/staging/history", token: tokens.reader)
            let stagingEntries = try staging.decode(HistoryAnswer.self).entries
            #expect(stagingEntries.prefix(2).map(\.operation) == ["deploy-staging", "deploy-staging"])
            #expect(stagingEntries.prefix(2).allSatisfy { $0.requestedBy == "ci" && $0.images.count == 2 })
        }
    }

    // MARK: 6. Errors commit nothing

    @Test("a tag the registry doesn't have: 422 naming the image, nothing committed")
    func unknownTag() async throws {
        let world = try await EnvironmentWorld.start()
        let backend = try world.push("backend", tag: "v1")
        let missing = world.registry.reference(name: "aiworker-frontend", tag: "nope")
        let tip = try world.tip()
        let pushes = try world.git.pushCount(repo: EnvironmentWorld.repo)
        try await world.withServer { client, tokens in
            let call = try await APICall.send(client, .post, "/api/environments/staging/deploy", token: tokens.deployer,
                                              json: #"{"images": {"backend": "\#(backend.ref)", "frontend": "\#(missing)"}}"#)
            #expect(call.status == .unprocessableContent, "\(call.text)")
            #expect(call.errorCode == "registry_tag_not_found")
            #expect(call.errorMessage.contains(missing) && call.errorMessage.contains("images.frontend"), "\(call.errorMessage)")

            let unknownService = try await APICall.send(client, .post, "/api/environments/staging/deploy", token: tokens.deployer,
                                                        json: #"{"images": {"database": "\#(backend.ref)"}}"#)
            #expect(unknownService.status == .unprocessableContent)
            #expect(unknownService.errorCode == "unknown_service")

            let reader = try await APICall.send(client, .post, "/api/environments/staging/deploy", token: tokens.reader,
                                                json: #"{"images": {"backend": "\#(backend.ref)"}}"#)
            #expect(reader.status == .forbidden)
        }
        #expect(try world.tip() == tip)
        #expect(try world.git.pushCount(repo: EnvironmentWorld.repo) == pushes)
    }

    @Test("a registry that is down: 503 with Retry-After, nothing committed")
    func registryDown() async throws {
        let world = try await EnvironmentWorld.start()
        let backend = try world.push("backend", tag: "v1")
        world.registry.stop()
        let tip = try world.tip()
        let pushes = try world.git.pushCount(repo: EnvironmentWorld.repo)
        try await world.withServer { client, tokens in
            let call = try await APICall.send(client, .post, "/api/environments/staging/deploy", token: tokens.deployer,
                                              json: #"{"images": {"backend": "\#(backend.ref)"}}"#)
            #expect(call.status == .serviceUnavailable, "\(call.text)")
            #expect(call.headers[.retryAfter].flatMap(Int.init) != nil)
            #expect(call.errorMessage.contains(world.registry.host))
        }
        #expect(try world.tip() == tip)
        #expect(try world.git.pushCount(repo: EnvironmentWorld.repo) == pushes)
    }

    @Test("an environment that is neither staging nor production: 404 or 400, nothing committed")
    func unknownEnvironment() async throws {
        let world = try await EnvironmentWorld.start()
        try await world.deployStaging(tag: "v1")
        let tip = try world.tip()
        try await world.withServer { client, tokens in
            for uri in ["/api/environments/qa", "/api/environments/preview/history", "/api/environments/Production"] {
                let call = try await APICall.send(client, .get, uri, token: tokens.reader)
                #expect(call.status == .notFound, "\(uri): \(call.text)")
                #expect(call.errorCode == "environment_not_found")
            }
            let rollback = try await APICall.send(client, .post, "/api/environments/preview/rollback", token: tokens.releaseManager,
                                                  json: #"{"to": "previous"}"#)
            #expect(rollback.status == .notFound)
            #expect(rollback.errorMessage.contains("staging or production"))
            for body in [#"{"from": "staging", "to": "qa"}"#, #"{"from": "production", "to": "staging"}"#,
                         #"{"from": "staging", "to": "staging"}"#, #"{"from": "preview/task-A", "to": "staging"}"#] {
                let call = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager, json: body)
                #expect(call.status == .badRequest, "\(body): \(call.text)")
            }
            let missingPreview = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                        json: #"{"from": "preview/task-nope", "to": "staging"}"#)
            #expect(missingPreview.status == .notFound)
        }
        #expect(try world.tip() == tip)
    }

    @Test("rollback targets: one that never touched the environment is 422, an unknown commit 404, garbage 400; nothing committed")
    func rollbackTargets() async throws {
        let world = try await EnvironmentWorld.start()
        try await world.deployStaging(tag: "v1")
        let promoted = try #require(try await world.committer().submit(try Promote(from: "staging", to: "production")).commit)
        let stagingOnly = try #require(try await world.committer().submit(
            DeployStaging(images: ["backend": world.pinned("backend", try world.push("backend", tag: "v2").digest)])).commit)
        let tip = try world.tip()
        try await world.withServer { client, tokens in
            func rollback(_ to: String) async throws -> APICall {
                try await APICall.send(client, .post, "/api/environments/production/rollback", token: tokens.releaseManager,
                                       json: #"{"to": "\#(to)"}"#)
            }
            let untouched = try await rollback(stagingOnly.hex)
            #expect(untouched.status == .unprocessableContent, "\(untouched.text)")
            #expect(untouched.errorCode == "rollback_target_untouched")
            #expect(untouched.errorMessage.contains("did not change production/aiworker/"))

            let unknown = try await rollback(String(repeating: "0", count: 40))
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "commit_not_found")

            let garbage = try await rollback("HEAD~1")
            #expect(garbage.status == .badRequest)
            #expect(garbage.errorCode == "invalid_rollback_target")

            // Before the first promotion production/aiworker/ did not exist: refused.
            let previous = try await rollback("previous")
            #expect(previous.status == .unprocessableContent, "\(previous.text)")
            #expect(previous.errorCode == "no_previous_state")

            // Rolling back to what runs is a no-op.
            let same = try await rollback(promoted.hex)
            #expect(same.status == .ok)
            #expect(try same.decode(EnvironmentAnswer.self).changed == false)
        }
        #expect(try world.tip() == tip)
    }

    @Test("a staging that runs tags can't be promoted to production without allowTag, and says so")
    func stagingTagsNeedAllowTag() async throws {
        let world = try await EnvironmentWorld.start(useRegistry: false)
        let backend = try world.push("backend", tag: "v1")
        let frontend = try world.push("frontend", tag: "v1")
        try await world.withServer { client, tokens in
            let deploy = try await APICall.send(client, .post, "/api/environments/staging/deploy", token: tokens.deployer,
                                                json: #"{"images": {"backend": "\#(backend.ref)", "frontend": "\#(frontend.ref)"}}"#)
            #expect(deploy.status == .created)
            #expect(try deploy.decode(EnvironmentAnswer.self).images["backend"] == backend.ref)
            let tip = try world.tip()
            let refused = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager, json: #"{"from": "staging", "to": "production"}"#)
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.errorCode == "image_not_pinned")
            #expect(refused.errorMessage.contains(backend.ref) && refused.errorMessage.contains("--allow-tag"), "\(refused.errorMessage)")
            #expect(try world.tip() == tip)

            let allowed = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                                 json: #"{"from": "staging", "to": "production", "allowTag": true}"#)
            #expect(allowed.status == .created, "\(allowed.text)")
            #expect(try world.deploymentImages("main", "production/aiworker") == ["backend": backend.ref, "frontend": frontend.ref])
        }
    }

    // MARK: Preview → staging

    @Test("a preview promotes to staging the same way")
    func previewToStaging() async throws {
        let world = try await EnvironmentWorld.start()
        let v1 = try await world.deployStaging(tag: "v1")
        let pushed = try world.push("backend", tag: "pr-7")
        let image = world.pinned("backend", pushed.digest)
        _ = try await world.committer().submit(GitOps.DeployPreview(taskID: "abc", images: ["backend": image], requestedBy: "ci"))
        try await world.withServer { client, tokens in
            let call = try await APICall.send(client, .post, "/api/promote", token: tokens.releaseManager,
                                              json: #"{"from": "preview/task-abc", "to": "staging", "services": ["backend"]}"#)
            #expect(call.status == .created, "\(call.text)")
            let answer = try call.decode(PromotionAnswer.self)
            #expect(answer.from == "preview/task-abc" && answer.to == "staging")
            #expect(answer.changes.map(\.service) == ["backend"])
        }
        #expect(try world.deploymentImages("main", "staging/aiworker") == ["backend": image, "frontend": world.pinned("frontend", v1["frontend"]!)])
        let message = try world.message()
        #expect(message.hasPrefix("promote(preview/task-abc→staging/aiworker): backend@sha256:"))
        #expect(CommitMessage.trailers(of: message).contains { $0 == ("Task-Id", "abc") })
    }

    // MARK: 4. Expiry, as the server runs it

    @Test("the server's sweep removes expired previews in one commit through the committer")
    func expirySweep() async throws {
        let world = try await EnvironmentWorld.start()
        let start = RenderFixtures.now
        let committer = world.committer { start }
        _ = try await committer.submit(GitOps.DeployPreview(taskID: "short", images: [:], ttl: "1h"))
        _ = try await committer.submit(GitOps.DeployPreview(taskID: "long", images: [:], ttl: "3d"))
        let before = try world.commits().count

        let catalog = world.catalog
        let later = start.addingTimeInterval(86_400)
        let service = ManifestorService(config: world.config, catalog: { catalog }, clock: { later })
        let sweeper = PreviewExpiryService(committer: service.committer, interval: .seconds(600))
        let outcome = try #require(await sweeper.sweep())
        #expect(outcome.changed)
        #expect(outcome.answer.removed.map(\.taskId) == ["short"])
        #expect(try world.commits().count == before + 1)
        #expect(try world.files("main", "preview").sorted() == [".gitkeep", "task-long"])
        let again = try #require(await sweeper.sweep())
        #expect(!again.changed)
        #expect(try PreviewExpiryService.interval(world.config) == .seconds(600))
    }

    @Test("the server's expiry service sweeps every interval until it is stopped")
    func expiryServiceRunsPeriodically() async throws {
        let world = try await EnvironmentWorld.start()
        let start = RenderFixtures.now
        _ = try await world.committer { start }.submit(GitOps.DeployPreview(taskID: "short", images: [:], ttl: "1h"))
        let before = try world.commits()
        let clock = SettableClock(start)
        let catalog = world.catalog
        let service = ManifestorService(config: world.config, catalog: { catalog }, clock: { clock.now })
        let sweeper = PreviewExpiryService(committer: service.committer, interval: .milliseconds(200))
        let running = Task { try await sweeper.run() }

        try await Task.sleep(for: .seconds(1))  // several sweeps, nothing expired yet
        #expect(try world.commits() == before)
        clock.now = start.addingTimeInterval(7200)
        for _ in 0..<100 where try world.files("main", "preview").contains("task-short") {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try world.files("main", "preview") == [".gitkeep"])
        try await Task.sleep(for: .seconds(1))  // later sweeps find nothing more
        running.cancel()
        try await running.value
        let after = try world.commits()
        #expect(after.count == before.count + 1)
        #expect(CommitMessage.trailers(of: try world.message()).contains { $0 == ("Operation", "gc") })
    }
}

/// A clock a test moves by hand.
final class SettableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date

    init(_ value: Date) { self.value = value }

    var now: Date {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

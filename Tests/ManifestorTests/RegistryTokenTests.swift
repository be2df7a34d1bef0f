import Foundation
import GitOps
import Hummingbird
import HummingbirdTesting
import KubeModel
import Testing

// Issue 13, the registry part, against Debian's docker-registry over https (a private CA) with
// token authentication and the token service of scripts/registry-token-server.py:
//  3. tag resolution through the token flow with caFile                  → resolvesWithCAFile
//     without caFile the untrusted certificate fails clearly               → untrustedWithoutCAFile
//     wrong registry credentials: 503 with a clear message, never a hang  → wrongCredentials, anonymousRefused
//     tokens are reused until shortly before they expire                  → tokensReused, shortLivedTokens
//     a stalled token service or registry costs only the timeout           → stalledServers
//  5. no product code uses URLSession                                      → noURLSession
//     no product code opens sockets itself                                 → noSockets

/// The `registry:` section of a config for `registry` (https, token auth), with a password
/// file in the fixture's directory.
private func registryConfig(_ registry: TokenRegistry, password: String?, caFile: Bool = true) throws -> String {
    var yaml = "registry:\n  url: \(registry.url)\n"
    if let password {
        let file = try registry.file("client-\(UUID().uuidString).password", "\(password)\n")
        yaml += "  username: \(TokenRegistry.user)\n  passwordFile: \(file)\n"
    }
    if caFile { yaml += "  caFile: \(registry.caFile)\n" }
    return yaml
}

/// The client `makeRegistryClient` builds from a config file with `registrySection`.
private func configuredClient(_ registry: TokenRegistry, _ registrySection: String) throws -> RegistryClient {
    let path = try registry.file("config-\(UUID().uuidString).yaml",
                                 "repository:\n  url: \(registry.dir.appendingPathComponent("gitops.git").path)\n\(registrySection)")
    return try #require(try ManifestorConfig.load(path: path, environment: [:]).makeRegistryClient())
}

/// Runs `body` and returns how long it took, in seconds.
private func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

// Serialized: the bounds measured here must not include waiting for a thread that another test
// holds while its fixture starts.
@Suite("Registry look-ups over https with the Docker token flow", .serialized)
struct RegistryTokenTests {
    @Test("a tag resolves through the token flow over https with registry.caFile; an unknown tag is 422")
    func resolvesWithCAFile() async throws {
        let registry = try TokenRegistry.start()
        let digest = try registry.push(name: "aiworker-backend", tag: "v1")
        let client = try configuredClient(registry, try registryConfig(registry, password: registry.password))
        #expect(client.caFile == registry.caFile)

        let ref = registry.reference(name: "aiworker-backend", tag: "v1")
        let pinned = try await client.pin(["backend": ref, "frontend": "git.fuq.tv/admin/aiworker-frontend:main"], field: "images")
        #expect(pinned.images == ["backend": "\(registry.host)/aiworker-backend@\(digest)",
                                  "frontend": "git.fuq.tv/admin/aiworker-frontend:main"])
        #expect(pinned.tags == ["backend": "v1"])

        // The token service was asked once, as the registry's challenge said, with the credentials.
        let asked = try registry.pullTokenRequests()
        #expect(asked.count == 1, "\(asked)")
        #expect(asked.first?.status == 200 && asked.first?.account == TokenRegistry.user)
        #expect(asked.first?.scopes == ["repository:aiworker-backend:pull"])
        #expect(asked.first?.userAgent == "manifestor")

        let missing = registry.reference(name: "aiworker-backend", tag: "nope")
        do {
            _ = try await client.pin(["backend": missing], field: "images")
            Issue.record("an unknown tag resolved")
        } catch let error as InputError {
            #expect(error.code == "registry_tag_not_found")
            #expect(error.kind == .unprocessable)
            #expect("\(error.rule)".contains(missing), "\(error.rule)")
        }
    }

    @Test("without caFile the registry's certificate is not trusted: 503 naming the registry, the certificate and registry.caFile")
    func untrustedWithoutCAFile() async throws {
        let registry = try TokenRegistry.start()
        try registry.push(name: "aiworker-backend", tag: "v1")
        var client = try configuredClient(registry, try registryConfig(registry, password: registry.password, caFile: false))
        client.timeoutSeconds = 5
        #expect(client.caFile == nil)
        let ref = try ImageReference(parsing: registry.reference(name: "aiworker-backend", tag: "v1"))
        var failure: UnavailableError?
        let took = await seconds {
            do { _ = try await client.digest(for: ref, field: "images.backend") } catch { failure = error as? UnavailableError }
        }
        let error = try #require(failure, "an untrusted registry answered")
        #expect(error.kind == .unavailable && error.retryAfterSeconds != nil)
        #expect(error.message.contains(registry.host) && error.message.contains("certificate")
                && error.message.contains("registry.caFile"), "\(error.message)")
        #expect(took < 5, "took \(took) s (the certificate fails at once; 5 s is the timeout)")
        #expect(try registry.pullTokenRequests().isEmpty)
    }

    @Test("wrong registry credentials: 503 with Retry-After naming the registry and the refusal, within the timeout; CLI exit 2; nothing committed")
    func wrongCredentials() async throws {
        let registry = try TokenRegistry.start()
        try registry.push(name: "aiworker-backend", tag: "v1")
        let wrong = "not-\(registry.password)"
        let world = try await EnvironmentWorld.start(useRegistry: false, extraConfig: try registryConfig(registry, password: wrong))
        let ref = registry.reference(name: "aiworker-backend", tag: "v1")
        let tip = try world.tip()
        let pushes = try world.git.pushCount(repo: EnvironmentWorld.repo)
        try await world.withServer { client, tokens in
            var call: APICall?
            let took = try await seconds {
                call = try await APICall.send(client, .post, "/api/tasks/t1/deploy-preview", token: tokens.deployer,
                                              json: #"{"images": {"backend": "\#(ref)"}}"#)
            }
            let answer = try #require(call)
            #expect(answer.status == .serviceUnavailable, "\(answer.text)")
            #expect(answer.headers[.retryAfter].flatMap(Int.init) != nil)
            let message = answer.errorMessage
            #expect(message.contains(registry.host) && message.contains("refused") && message.contains("user manifestor"), "\(message)")
            #expect(!message.contains(wrong) && !message.contains(registry.password), "\(message)")
            #expect(took < 10, "took \(took) s")
        }
        let cli = try EnvironmentCLI.run(world, ["deploy", "staging", "--image", "backend=\(ref)"])
        #expect(cli.status == 2, "\(cli.stderr)")
        #expect(cli.stderr.contains(registry.host) && cli.stderr.contains("refused"), "\(cli.stderr)")
        #expect(!cli.stderr.contains(wrong) && !cli.stdout.contains(wrong))
        #expect(try world.tip() == tip)
        #expect(try world.git.pushCount(repo: EnvironmentWorld.repo) == pushes)
        #expect(try registry.pullTokenRequests().allSatisfy { $0.status == 401 })
    }

    @Test("no credentials: the anonymous token is refused by the registry, 503 naming it, no retry loop")
    func anonymousRefused() async throws {
        let registry = try TokenRegistry.start()
        try registry.push(name: "aiworker-backend", tag: "v1")
        let client = try configuredClient(registry, try registryConfig(registry, password: nil))
        let ref = try ImageReference(parsing: registry.reference(name: "aiworker-backend", tag: "v1"))
        do {
            _ = try await client.digest(for: ref, field: "images.backend")
            Issue.record("an anonymous look-up resolved")
        } catch let error as UnavailableError {
            #expect(error.message.contains(registry.host) && error.message.contains("refused the token")
                    && error.message.contains("anonymous"), "\(error.message)")
        }
        let asked = try registry.pullTokenRequests()
        #expect(asked.count == 1 && asked.first?.status == 200 && asked.first?.account == "", "\(asked)")
    }

    @Test("the server asks the token service once for every look-up of one repository, once more for another")
    func tokensReused() async throws {
        let registry = try TokenRegistry.start()
        let v1 = try registry.push(name: "aiworker-backend", tag: "v1")
        let v2 = try registry.push(name: "aiworker-backend", tag: "v2")
        let frontend = try registry.push(name: "aiworker-frontend", tag: "v1")
        let world = try await EnvironmentWorld.start(useRegistry: false,
                                                     extraConfig: try registryConfig(registry, password: registry.password))
        try await world.withServer { client, tokens in
            for (task, tag, digest) in [("t1", "v1", v1), ("t2", "v2", v2), ("t3", "v1", v1)] {
                let ref = registry.reference(name: "aiworker-backend", tag: tag)
                let call = try await APICall.send(client, .post, "/api/tasks/\(task)/deploy-preview", token: tokens.deployer,
                                                  json: #"{"images": {"backend": "\#(ref)"}}"#)
                #expect(call.status == .created, "\(call.text)")
                let answer = try call.decode(PreviewAnswer.self)
                #expect(answer.images["backend"] == "\(registry.host)/aiworker-backend@\(digest)")
            }
            #expect(try registry.pullTokenRequests().count == 1)

            let ref = registry.reference(name: "aiworker-frontend", tag: "v1")
            let call = try await APICall.send(client, .post, "/api/tasks/t4/deploy-preview", token: tokens.deployer,
                                              json: #"{"images": {"frontend": "\#(ref)"}}"#)
            #expect(call.status == .created, "\(call.text)")
            #expect(try call.decode(PreviewAnswer.self).images["frontend"] == "\(registry.host)/aiworker-frontend@\(frontend)")
        }
        let asked = try registry.pullTokenRequests()
        #expect(asked.map(\.scopes) == [["repository:aiworker-backend:pull"], ["repository:aiworker-frontend:pull"]], "\(asked)")
        #expect(asked.allSatisfy { $0.status == 200 && $0.account == TokenRegistry.user })
    }

    @Test("a token that expires within the margin is not kept: every look-up asks again")
    func shortLivedTokens() async throws {
        let registry = try TokenRegistry.start(tokenLifetime: 5)
        let digest = try registry.push(name: "aiworker-backend", tag: "v1")
        let client = try configuredClient(registry, try registryConfig(registry, password: registry.password))
        let ref = try ImageReference(parsing: registry.reference(name: "aiworker-backend", tag: "v1"))
        for _ in 0..<2 { #expect(try await client.digest(for: ref, field: "images.backend") == digest) }
        #expect(try registry.pullTokenRequests().count == 2)
    }

    @Test("a stalled token service or registry costs only the timeout (503 naming it); the next look-up works once it is back")
    func stalledServers() async throws {
        let registry = try TokenRegistry.start()
        let digest = try registry.push(name: "aiworker-backend", tag: "v1")
        var client = try configuredClient(registry, try registryConfig(registry, password: registry.password))
        client.timeoutSeconds = 2
        let ref = try ImageReference(parsing: registry.reference(name: "aiworker-backend", tag: "v1"))
        for part in [TokenRegistry.Part.tokenService, .registry] {
            try registry.pause(part)
            var failure: UnavailableError?
            let took = await seconds {
                do { _ = try await client.digest(for: ref, field: "images.backend") } catch { failure = error as? UnavailableError }
            }
            try registry.resume(part)
            let error = try #require(failure, "a stalled \(part) answered")
            #expect(error.message.contains(registry.host) && error.message.contains("no answer within 2 s"), "\(error.message)")
            #expect(took >= 1.5 && took < 5, "\(part): took \(took) s")
            // Back: the same client resolves again (the token is fetched once, then kept).
            #expect(try await client.digest(for: ref, field: "images.backend") == digest)
        }
        #expect(try registry.pullTokenRequests().filter { $0.status == 200 }.count == 1)
    }

    @Test("Bearer challenges: quoted values may hold commas and escapes; anything else is no challenge")
    func challenges() {
        let full = BearerChallenge(header: #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#)
        #expect(full == BearerChallenge(realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push"))
        let spaced = BearerChallenge(header: #"bearer  scope="x:y:pull" , Realm=https://r.example/t,service="s \"q\"""#)
        #expect(spaced == BearerChallenge(realm: "https://r.example/t", service: #"s "q""#, scope: "x:y:pull"))
        #expect(BearerChallenge(header: #"Basic realm="registry""#) == nil)
        #expect(BearerChallenge(header: #"Bearer service="s""#) == nil)
        #expect(BearerChallenge(header: nil) == nil)
    }

    @Test("no product code uses URLSession or FoundationNetworking: the registry speaks through HTTPClient")
    func noURLSession() throws {
        var offenders: [String] = []
        for file in ArchitectureTests.swiftFiles(under: repoRoot().appendingPathComponent("Sources")) {
            let text = try String(contentsOf: file, encoding: .utf8)
            if text.contains("URLSession") || text.contains("FoundationNetworking") { offenders.append(file.lastPathComponent) }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }

    @Test("no product code opens sockets itself: socket(, connect(, send( and recv( appear nowhere in Sources/ (libgit2's own calls aside)")
    func noSockets() throws {
        // Preceded by a letter, a digit or '_' it is another name (git_remote_connect, a method's label).
        let call = try Regex(#"(^|[^A-Za-z0-9_.])(socket|connect|send|recv)\("#)
        var offenders: [String] = []
        for file in ArchitectureTests.swiftFiles(under: repoRoot().appendingPathComponent("Sources")) {
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains(call) { offenders.append("\(file.lastPathComponent): \(line)") }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }
}


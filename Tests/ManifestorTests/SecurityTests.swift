import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GitOps
import ManifestorServer
import Testing

@Suite("Secrets", .serialized)
struct SecurityTests {
    @Test("tokens are stored only as SHA-256, and compared to the digest")
    func tokensAreDigests() throws {
        let token = TokenStore.generateToken()
        let line = TokenStore.entryLine(name: "ci", role: .deployer, token: token)
        #expect(!line.contains(token))
        #expect(line.contains(TokenStore.sha256Hex(token)))
        let store = try TokenStore(entries: [.init(name: "ci", role: .deployer, sha256: TokenStore.sha256Hex(token))])
        #expect(store.authenticate(token: token) == Caller(name: "ci", role: .deployer))
        #expect(store.authenticate(token: token + "x") == nil)
        #expect(store.authenticate(token: "") == nil)

        let created = try run(RenderFixtures.manifestor, ["token", "create", "ci", "--role", "deployer"])
        let lines = created.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[1].contains(TokenStore.sha256Hex(lines[0])) && !lines[1].contains(lines[0]))
    }

    @Test("no API token or git credential in any log line, error, commit or response of a full run")
    func nothingLeaks() async throws {
        let h = try ServerHarness()
        let tokensFile = try h.writeTokensFile()
        let config = try h.remote.config(name: "serve", cache: "serve-cache", extra: "server: {tokensFile: \(tokensFile.path)}\n").path
        var everything = ""

        let server = try ServeProcess(config: config, log: h.remote.work.appendingPathComponent("serve.log"))
        let api = server.api
        let deployer = h.tokens["deployer"]!
        for (method, path, token, body) in [
            ("POST", "/api/tasks/s1/deploy-preview", deployer, ServerTests.deployBody),
            ("POST", "/api/tasks/s1/deploy-preview", deployer, ServerTests.deployBody),
            ("POST", "/api/tasks/s2/deploy-preview", h.tokens["reader"]!, ServerTests.deployBody),
            ("POST", "/api/tasks/s3/deploy-preview", "wrong-\(deployer)", ServerTests.deployBody),
            ("POST", "/api/tasks/BAD/deploy-preview", deployer, ServerTests.deployBody),
            ("GET", "/api/tasks/s1/preview", h.tokens["reader"]!, ""),
            ("GET", "/api/previews", h.tokens["release-manager"]!, ""),
            ("DELETE", "/api/tasks/s1/preview", deployer, ""),
            ("GET", "/metrics", "", ""),
        ] {
            let answer = try await api.send(method, path, token: token.isEmpty ? nil : token, body: body.isEmpty ? nil : Data(body.utf8))
            everything += "\(answer.status) \(answer.headers) " + String(decoding: answer.data, as: UTF8.self) + "\n"
        }
        kill(server.process.processIdentifier, SIGTERM)
        #expect(server.waitForExit(seconds: 30) == 0)
        everything += try String(contentsOf: server.log, encoding: .utf8)

        // The CLI: success, a wrong git token, and the server down.
        everything += try h.remote.manifestor(["deploy-preview", "s4", "--image", "backend=git.fuq.tv/admin/aiworker-backend:1", "--config", config]).stderr
        let wrong = try h.remote.config(name: "wrong", cache: "wrong-cache", token: "wrong-\(h.remote.server.password)").path
        let refused = try h.remote.manifestor(["deploy-preview", "s5", "--image", "backend=git.fuq.tv/admin/aiworker-backend:1", "--config", wrong, "--json"])
        everything += refused.stdout + refused.stderr
        let envToken = try h.remote.manifestor(["deploy-preview", "s6", "--image", "backend=git.fuq.tv/admin/aiworker-backend:1", "--config", config],
                                               env: ["MANIFESTOR_LOG_LEVEL": "trace"])
        everything += envToken.stdout + envToken.stderr

        // What was committed and pushed.
        everything += try h.remote.git(["log", "-p", "--all"])
        // What the cache holds.
        for name in ["serve-cache", "cache"] {
            let dir = h.remote.work.appendingPathComponent(name)
            if let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) {
                for case let file as URL in walker where ["config", "FETCH_HEAD", "HEAD"].contains(file.lastPathComponent) {
                    everything += (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                }
            }
        }
        #expect(everything.contains("preview(task-s1)"), "the run did happen")
        let secrets = [h.remote.server.password] + Array(h.tokens.values)
        for secret in secrets {
            #expect(!everything.contains(secret), "a secret leaked")
        }
        #expect(!everything.contains(h.remote.server.password.prefix(12)), "no part of the git token leaked")
    }
}
